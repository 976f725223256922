"""``DedupImages``: exact and perceptual duplicates of image-text rows in Beam.

Exact copies (SHA-256 of the image bytes) keep one row per group (``GroupDedup``); perceptual
copies (64-bit DCT hashes within ``dedup.image_hamming`` bits) are found per hash block (a block
is an LSH band with no false negatives, ``corpus/dedup/image_hash.py``), joined into components
(``Components``: union-find over every edge in one group) and reduced to their survivor: the
largest image, then the smallest id (``corpus/dedup/images.py`` computes the same rows in memory; ``tests/pipelines/test_dedup.py``
holds them together).
"""

from __future__ import annotations

import apache_beam as beam

from corpus.dedup.config import DedupConfig
from corpus.dedup.image_hash import block_keys
from corpus.dedup.images import hash_pairs, image_key, phash_int, sha256_of
from pipelines.dedup_steps import Components, GroupDedup, apply_labels, counter


def _endpoints(edge_score):
    (a, b), s = edge_score
    yield (a, s)
    yield (b, s)


class _ImageHashes(beam.DoFn):
    """(node, row) -> (block key, (node, phash)) per block; rows without a hash pass over."""

    def __init__(self, radius: int):
        self.radius = radius

    def setup(self):
        self._no_hash = counter("image_without_phash")

    def process(self, item):
        h = phash_int(item[1])
        if h is None:
            self._no_hash.inc()
            return
        for key in block_keys(h, self.radius):
            yield (key, (item[0], h))


class _HashPairs(beam.DoFn):
    def __init__(self, cfg: DedupConfig):
        self.cfg = cfg

    def process(self, block):
        for a, b, d in hash_pairs(block[1], self.cfg.image_hamming, self.cfg.max_bucket_pairs):
            yield ((a, b), float(d))


class DedupImages(beam.PTransform):
    """``rows | DedupImages(cfg)`` -> ``(kept, rejected)`` for ``ImageTextRecord`` rows.

    Exact copies (SHA-256 of the bytes) and perceptual copies (phash within
    ``cfg.image_hamming`` bits) keep one row each: the largest image, then the smallest id."""

    def __init__(self, cfg: DedupConfig | None = None, label: str | None = None):
        super().__init__(label)
        self.cfg = cfg or DedupConfig()

    def expand(self, rows):
        cfg = self.cfg
        items = rows | "Key" >> beam.Map(lambda r: (image_key(r, cfg), r))
        items, rej_exact = items | "Exact" >> GroupDedup(sha256_of, "exact_duplicate")
        edges = (items | "Hash" >> beam.ParDo(_ImageHashes(cfg.image_hamming))
                 | "Blocks" >> beam.GroupByKey()
                 | "Pairs" >> beam.ParDo(_HashPairs(cfg))
                 | "DistinctPairs" >> beam.CombinePerKey(min))
        labels = edges | "Edges" >> beam.Keys() | "CC" >> Components()
        scores = (edges | "Endpoints" >> beam.FlatMap(_endpoints)
                  | "Closest" >> beam.CombinePerKey(min))
        kept, rej_near = apply_labels(items, labels, scores, "Apply")
        return kept, (rej_exact, rej_near) | "Rejected" >> beam.Flatten()


__all__ = ["DedupImages"]
