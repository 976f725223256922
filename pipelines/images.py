"""The image-text path in Beam: pages' image references and listings in, ``image_text`` rows out.

``ImagePairs(cfg)`` is one composite step of the corpus pipeline. Its input is a tuple of three
PCollections: extracted ``Document``s (their ``images``), the crawl's image response records
(``Page``s whose Content-Type is ``image/*``), and paths of JSONL image listings. Its output is a
pair ``(rows, rejected)``: ``image_text`` row dicts (``ImageTextRecord.to_row()``) and
``RejectedRecord``s. Inside, each box is a corpus stage run by ``ApplyStage``::

    docs ──► MinePairs ─┐
    listings ► ReadListings ─┴► PairText ─► key by image URL ─┐
    image records ───────────────────────► key by URL ────────┴► CoGroupByKey ► JoinImages
        ─► [Download: Batches ► FetchImages]  (only with images.download)
        ─► ProcessImages ─► rows

The join is a ``CoGroupByKey`` on ``corpus.images.join.url_key`` (no side input, so it scales
with the crawl and runs the same on every runner). An image is decoded once however many pairs
share it. Downloading is off by default (``make corpus`` runs offline); with
``--set images.download=true`` image URLs absent from the crawl are fetched in batches of
``fetch.batch_size`` by each worker's thread pool, under the run's one fetch configuration
(``CorpusConfig.fetch``, shared with ``m6 crawl``; the egress policy of ``corpus/fetch/egress.py``
refuses non-public addresses unless ``--allow-address`` opens them).

Usage from the corpus pipeline::

    rows, rejected = (web_docs, image_pages, listing_paths) | "Images" >> ImagePairs(cfg.images)

``cfg`` is the ``ImageConfig`` (``CorpusConfig.images``): the image path is given its own part
of the configuration, nothing else. With ``rows=False`` the output is ``ImageTextRecord`` objects instead of row dicts, which is what
``pipelines.dedup.DedupImages`` takes; map ``to_row`` after it.
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam

from corpus.document import Page
from corpus.fetch.config import FetchConfig
from corpus.fetch.stage import FetchImages
from corpus.images.config import ImageConfig
from corpus.images.join import IMAGES, PAIRS, JoinImages, needs_download, page_key, pair_key
from corpus.images.listing import ReadListingFile
from corpus.images.pairs import MinePairs
from corpus.images.process import ProcessImages
from corpus.images.records import ImagePair
from corpus.images.text import PairText
from pipelines.batches import Batches
from pipelines.stage_dofn import ApplyStage


def keyed_pair(pair: ImagePair) -> tuple[str, ImagePair]:
    return pair_key(pair), pair


def keyed_page(page: Page) -> tuple[str, Page]:
    return page_key(page), page


def is_not_download(job: Any) -> bool:
    return not needs_download(job)


def job_key(job: Any) -> str:
    return job.key


def to_row(record: Any) -> dict[str, Any]:
    return record.to_row()


class ImagePairs(beam.PTransform):
    """``(docs, image_pages, listing_paths)`` -> ``(image_text rows, rejected records)``;
    ``(docs, image_pages)``: no listings."""

    def __init__(self, cfg: ImageConfig | None = None, label: str | None = None, *,
                 rows: bool = True, fetch: FetchConfig | None = None):
        super().__init__(label)
        if cfg is not None and not isinstance(cfg, ImageConfig):
            raise TypeError(f"ImagePairs takes an ImageConfig (CorpusConfig.images), "
                            f"not a {type(cfg).__name__}")
        self.cfg = cfg or ImageConfig()
        self.fetch = fetch or FetchConfig()  # the run's CorpusConfig.fetch (shared with m6 crawl)
        self.rows = rows  # False: ImageTextRecord objects (e.g. for pipelines.dedup.DedupImages)

    def expand(self, inputs):
        docs, image_pages, *listing_paths = inputs
        listing_paths = listing_paths[0] if listing_paths else None
        cfg = self.cfg
        rejected = []

        mined = docs | "MinePairs" >> ApplyStage(MinePairs(cfg.pairs))
        rejected.append(mined.rejected)
        pairs = mined.main
        if listing_paths is not None:  # none: the run has no listings (no stages for them)
            listed = listing_paths | "ReadListings" >> ApplyStage(ReadListingFile(cfg))
            pairs = (mined.main, listed.main) | "AllPairs" >> beam.Flatten()
            rejected.append(listed.rejected)
        texts = pairs | "PairText" >> ApplyStage(PairText(cfg.text))
        rejected.append(texts.rejected)

        grouped = (
            {PAIRS: texts.main | "KeyPairs" >> beam.Map(keyed_pair),
             IMAGES: image_pages | "KeyImages" >> beam.Map(keyed_page)}
            | "JoinByUrl" >> beam.CoGroupByKey()
        )
        jobs = grouped | "Jobs" >> ApplyStage(JoinImages(cfg))
        rejected.append(jobs.rejected)
        ready = jobs.main

        if cfg.download:
            fetched = (
                ready
                | "ToDownload" >> beam.Filter(needs_download)
                | "Batch" >> Batches(self.fetch.batch_size, min_size=1, key=job_key)
                | "Download" >> ApplyStage(FetchImages(self.fetch, cfg.max_pages_per_image))
            )
            rejected.append(fetched.rejected)
            kept = ready | "NoDownload" >> beam.Filter(is_not_download)
            ready = (kept, fetched.main) | "WithDownloads" >> beam.Flatten()

        processed = ready | "ProcessImages" >> ApplyStage(ProcessImages(cfg))
        rejected.append(processed.rejected)
        out = processed.main
        if self.rows:
            out = out | "ImageTextRows" >> beam.Map(to_row)
        return out, tuple(rejected) | "ImageRejected" >> beam.Flatten()
