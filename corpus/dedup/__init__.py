"""Duplicate removal for the corpus: exact, URL and near-duplicate text; exact and perceptual
image copies (docs/design.md, "Dedup"; docs/dedup.md).

Pure functions, one concept per module: ``normalise`` (normal forms and keys), ``minhash``
(batched signatures equal to datasketch's), ``lsh`` (bands from the threshold, band keys),
``buckets`` (candidate pairs, exact Jaccard), ``components`` (large-star / small-star),
``survivor`` (which copy stays), ``image_hash`` and ``images`` (perceptual hash, image groups),
``local`` (the whole text dedup in memory), ``partitions`` (band keys in partitions),
``vertices`` and ``packed`` (the records and plain-tuple documents the Beam steps move),
``edits`` (near-copies for benchmarks and tests), ``config`` (``DedupConfig``). The Beam
transforms are in ``pipelines/dedup.py`` (text) and ``pipelines/dedup_images.py`` (images).
"""

from corpus.dedup.config import DedupConfig, MinhashConfig

__all__ = ["DedupConfig", "MinhashConfig"]
