"""Which images enter the corpus: size, shape, quality thresholds, and the content-classifier hook.

Paper 2.3: "Only images with at least 5000 pixels are reserved for pretraining. A sequence of
classifiers and heuristic rules are applied to filter out images containing illegal content. We
also use a pretrained image scorer to evaluate the qualities of images." Reasons, in the order
they are checked (cheapest first; size and shape are known from the header, before decoding):

==================== =============================================================================
reason               rule (``ImageFilterConfig``)
==================== =============================================================================
too_few_pixels       width x height < ``min_pixels`` (5000, the paper's rule); score = pixels
aspect_ratio         longer side / shorter side > ``max_aspect_ratio``; score = the ratio
low_jpeg_quality     estimated JPEG quality < ``min_jpeg_quality``; score = the estimate
low_entropy          grey-histogram entropy < ``min_entropy`` bits (blank, flat, two-colour)
blurry               Laplacian variance < ``min_sharpness``
not_colourful        colourfulness < ``min_colourfulness`` (off by default: greyscale is fine)
content:<reason>     the content classifier said no (see below)
==================== =============================================================================

The scores themselves are in ``corpus.images.quality``.

Content-classifier hook
-----------------------
M6 filtered "images containing illegal content" (pornography, violence) with in-house classifiers.
m6 ships no such model; it gives a hook that is called for **every image that passed every other
check**, from every input path (crawl records, downloads, listing files), so no image reaches the
``image_text`` output without it. To plug one in, set ``images.filters.content_classifier`` to
``"package.module:factory"``. ``factory`` is called once per worker, with no arguments, when the
image stage is set up (load your model there), and must return a callable matching
``ContentClassifier``: it gets the RGB image (already oriented and scaled to the stored size) and
an ``ImageInfo`` (URL, source, the texts of the pairs using it) and returns a
``corpus.stage.Verdict``. ``Verdict.drop("nsfw", score=0.97)`` rejects the image and all its pairs
with reason ``content:nsfw``; the score lands in the rejected row. If the classifier raises, the
image is rejected with ``content:error`` (fail closed: an unchecked image is not kept).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from PIL import Image

from corpus.images.config import ImageFilterConfig
from corpus.images.quality import QualityScores
from corpus.stage import Verdict


@dataclass(frozen=True)
class ImageInfo:
    """What a content classifier knows of an image besides its pixels."""

    image_url: str | None
    source: str
    texts: tuple[str, ...] = ()  # the texts of the pairs that use this image


@runtime_checkable
class ContentClassifier(Protocol):
    def __call__(self, image: Image.Image, info: ImageInfo) -> Verdict: ...


def load_classifier(spec: str) -> ContentClassifier:
    """Import ``"package.module:factory"`` and call ``factory()`` to get the classifier."""
    if ":" not in spec:
        raise ValueError(f"content_classifier {spec!r} must look like 'package.module:factory'")
    module_name, attr = spec.split(":", 1)
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(f"content_classifier {spec!r}: cannot import {module_name!r} ({e}); "
                         "is the package installed in this environment?") from e
    factory = getattr(module, attr, None)
    if factory is None:
        raise ValueError(f"content_classifier {spec!r}: {module_name} has no {attr!r}")
    classifier = factory()
    if not callable(classifier):
        raise TypeError(f"content_classifier {spec!r}: {attr}() returned "
                        f"{type(classifier).__name__}, which is not callable")
    return classifier


def size_verdict(width: int, height: int, cfg: ImageFilterConfig) -> Verdict:
    """``too_few_pixels`` or ``aspect_ratio`` from the size alone (known from the header)."""
    pixels = width * height
    if pixels < cfg.min_pixels:
        return Verdict.drop("too_few_pixels", float(pixels),
                            f"{width}x{height} = {pixels} < {cfg.min_pixels} pixels")
    ratio = max(width, height) / max(1, min(width, height))
    if ratio > cfg.max_aspect_ratio:
        return Verdict.drop("aspect_ratio", round(ratio, 3),
                            f"{width}x{height}: {ratio:.2f} > {cfg.max_aspect_ratio}")
    return Verdict.ok()


def quality_verdict(scores: QualityScores, cfg: ImageFilterConfig) -> Verdict:
    """The first quality threshold ``scores`` fails, or keep."""
    if scores.jpeg_quality is not None and scores.jpeg_quality < cfg.min_jpeg_quality:
        return Verdict.drop("low_jpeg_quality", scores.jpeg_quality,
                            f"estimated quality {scores.jpeg_quality:.0f} < {cfg.min_jpeg_quality}")
    if scores.entropy < cfg.min_entropy:
        return Verdict.drop("low_entropy", round(scores.entropy, 4),
                            f"{scores.entropy:.2f} bits < {cfg.min_entropy}")
    if scores.sharpness < cfg.min_sharpness:
        return Verdict.drop("blurry", round(scores.sharpness, 4),
                            f"Laplacian variance {scores.sharpness:.1f} < {cfg.min_sharpness}")
    if scores.colourfulness < cfg.min_colourfulness:
        return Verdict.drop("not_colourful", round(scores.colourfulness, 4),
                            f"{scores.colourfulness:.1f} < {cfg.min_colourfulness}")
    return Verdict.ok()


def content_verdict(classifier: ContentClassifier | None, image: Image.Image,
                    info: ImageInfo) -> Verdict:
    """Ask the classifier (if any); its reasons come back as ``content:<reason>``."""
    if classifier is None:
        return Verdict.ok()
    try:
        verdict = classifier(image, info)
    except Exception as e:  # noqa: BLE001 - fail closed
        return Verdict.drop("content:error", None, f"{type(e).__name__}: {e}")
    if not isinstance(verdict, Verdict):
        return Verdict.drop("content:error", None,
                            f"classifier returned {type(verdict).__name__}, not a Verdict")
    if verdict.keep:
        return verdict
    return Verdict.drop(f"content:{verdict.reason or 'rejected'}", verdict.score, verdict.detail)
