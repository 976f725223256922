"""The image stage: one image's bytes in, one ``image_text`` row per pair that uses it out.

``ProcessImages`` takes an ``ImageJob`` (an image, its bytes, the pairs that refer to it) and does
the image work once, cheapest check first, then fans out:

1. more than ``max_pages_per_image`` pages share the image -> ``shared_image`` (a logo, a
   banner or a share button that the URL and size rules missed: content is not on 50 pages);
2. no bytes -> every pair rejected by ``image_fetch`` with the download status (``http_404``,
   ``timeout``, ...), ``not_in_crawl`` / ``download_off`` when downloading is off, or the file
   status of a listing (``file_not_found``);
3. ``open_image`` (format, JPEG structure, header, pixel limit) -> ``image_decode`` reasons;
4. ``size_verdict`` (5000 pixels, aspect ratio) from the header alone -> ``image_filter``;
5. ``load_image`` (pixels, EXIF orientation, JPEG DCT scaling) -> ``image_decode``;
6. ``prepare`` (RGB, scaled), ``quality.score``, ``quality_verdict`` -> ``image_quality``;
7. the content classifier, if configured -> ``image_content``;
8. ``store`` (re-encode), SHA-256 of both byte strings, perceptual hash; one row per pair.

A rejected image rejects each of its pairs with the same stage and reason, so counts per reason
are counts of pairs; the row's ``score`` is the value that failed.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from corpus.images.config import ImageConfig
from corpus.images.decode import DecodeError, load_image, open_image
from corpus.images.filters import (
    ContentClassifier,
    ImageInfo,
    content_verdict,
    load_classifier,
    quality_verdict,
    size_verdict,
)
from corpus.images.normalise import StoredImage, prepare, store, target_size
from corpus.images.phash import image_phash
from corpus.images.quality import QualityScores, score
from corpus.images.records import ImageJob, ImagePair
from corpus.stage import Stage
from corpus.tokens import count_tokens
from schemas import ImageTextRecord, RejectedRecord


@dataclass(frozen=True)
class ProcessedImage:
    """A kept image: what is stored and what is known of the original."""

    stored: StoredImage
    orig_format: str
    orig_width: int
    orig_height: int
    orig_sha256: str
    scores: QualityScores
    phash: str | None


@dataclass(frozen=True)
class ImageRejection:
    stage: str
    reason: str
    score: float | None = None
    detail: str | None = None


def pair_record(pair: ImagePair, image: ProcessedImage) -> ImageTextRecord:
    """The ``image_text`` row of ``pair`` with ``image``."""
    s, sc = image.stored, image.scores
    return ImageTextRecord(
        id=pair.id, source=pair.source, text=pair.text, image=s.data, format=s.format,
        width=s.width, height=s.height, orig_width=image.orig_width,
        orig_height=image.orig_height, sha256=s.sha256, url=pair.url,
        image_url=pair.image_url or pair.image_path, alt=pair.alt, title=pair.title,
        caption=pair.caption, context_before=pair.context_before,
        context_after=pair.context_after, orig_format=image.orig_format,
        orig_sha256=image.orig_sha256, phash=image.phash, sharpness=sc.sharpness,
        entropy=sc.entropy, colourfulness=sc.colourfulness, jpeg_quality=sc.jpeg_quality,
        n_chars=len(pair.text), n_tokens=count_tokens(pair.text), input_file=pair.input_file,
        **dataclasses.asdict(pair.quality),
    )


class ProcessImages(Stage):
    """``ImageJob`` -> ``ImageTextRecord`` per pair, or a rejected row per pair."""

    name: ClassVar[str] = "image"

    def __init__(self, cfg: ImageConfig | None = None):
        self.cfg = cfg or ImageConfig()
        self._classifier: ContentClassifier | None = None
        self._ready = False

    def setup(self) -> None:
        if self._ready:
            return
        spec = self.cfg.filters.content_classifier
        self._classifier = load_classifier(spec) if spec else None
        self._ready = True

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_classifier"], state["_ready"] = None, False  # reloaded by setup() on a worker
        return state

    # -- one image ----------------------------------------------------------------------------

    def process_image(self, data: bytes, info: ImageInfo) -> ProcessedImage | ImageRejection:
        """All checks on one image's bytes; never raises for bad input."""
        if not self._ready:
            self.setup()
        cfg = self.cfg
        try:
            opened = open_image(data, cfg.decode)
        except DecodeError as e:
            return ImageRejection("image_decode", e.reason, None, e.detail)
        v = size_verdict(opened.width, opened.height, cfg.filters)
        if not v.keep:
            return ImageRejection("image_filter", v.reason, v.score, v.detail)
        quantization = getattr(opened.image, "quantization", None)
        try:
            im = load_image(opened, target_size(opened.width, opened.height,
                                                cfg.normalise.max_side))
            rgb = prepare(im, cfg.normalise)
        except DecodeError as e:
            return ImageRejection("image_decode", e.reason, None, e.detail)
        except Exception as e:  # noqa: BLE001 - a Pillow mode or plugin we did not foresee
            return ImageRejection("image_decode", "decode_error", None,
                                  f"{type(e).__name__}: {e}")
        scores = score(rgb, cfg.filters.analysis_side, quantization)
        v = quality_verdict(scores, cfg.filters)
        if not v.keep:
            return ImageRejection("image_quality", v.reason, v.score, v.detail)
        v = content_verdict(self._classifier, rgb, info)
        if not v.keep:
            return ImageRejection("image_content", v.reason, v.score, v.detail)
        return ProcessedImage(
            stored=store(rgb, cfg.normalise), orig_format=opened.format,
            orig_width=opened.width, orig_height=opened.height,
            orig_sha256=hashlib.sha256(data).hexdigest(), scores=scores,
            phash=image_phash(rgb),
        )

    # -- one job ------------------------------------------------------------------------------

    def outcome(self, job: ImageJob) -> ProcessedImage | ImageRejection:
        pages = {p.url for p in job.pairs}
        if len(pages) > self.cfg.max_pages_per_image:
            return ImageRejection("image_pairs", "shared_image", float(len(pages)),
                                  f"on {len(pages)} pages > {self.cfg.max_pages_per_image}")
        if job.body is None:
            return ImageRejection("image_fetch", job.fetch_status or "not_in_crawl", None,
                                  f"no bytes for {job.key[:200]}")
        info = ImageInfo(job.key, job.source, tuple(p.text for p in job.pairs))
        try:
            return self.process_image(job.body, info)
        except Exception as e:  # noqa: BLE001 - one bad image never kills the job
            return ImageRejection("image_decode", "decode_error", None,
                                  f"{type(e).__name__}: {e}")

    def process(self, record: ImageJob) -> Iterator[ImageTextRecord | RejectedRecord]:
        result = self.outcome(record)
        if isinstance(result, ImageRejection):
            yield from record.reject_all(result.stage, result.reason, score=result.score,
                                         detail=result.detail)
            return
        for pair in record.pairs:
            yield pair_record(pair, result)
