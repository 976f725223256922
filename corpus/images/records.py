"""Records of the image-text path: a candidate pair, and an image with all pairs that share it.

``ImagePair`` is one image reference and its text (from a page's ``<img>`` or a listing line);
it has no pixels yet. ``ImageJob`` is the unit of image work: one image (by URL or file path),
its bytes once they are known (from the crawl, a download or a file), and every pair that refers
to it, so an image shown on many pages is fetched, decoded, filtered and normalised once and then
fanned out into one ``image_text`` row per pair.

A pair dropped anywhere becomes a ``RejectedRecord`` of kind ``image_text`` carrying the page URL,
the image URL and the pair text, so a rerun with other thresholds is possible; an image record
from the crawl that no pair refers to becomes a row of kind ``image``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from schemas import RejectedRecord, make_id
from schemas.records import Quality


def pair_id(source: str, page_url: str | None, image_url: str | None, ordinal: int = 0) -> str:
    """Stable id of a pair: the page and the image (and the position, for a listing line)."""
    return make_id(source, f"{page_url or ''}\x00{image_url or ''}\x00{ordinal}")


@dataclass
class ImagePair:
    """A candidate image-text pair, before its image is fetched and checked."""

    id: str
    source: str  # encyclopedia | webpage | ecommerce
    text: str  # the pair text (composed from caption, alt, title, context; cleaned later)
    image_url: str | None = None  # absolute URL of the image (None for a listing file path)
    image_path: str | None = None  # a listing's local image file
    url: str | None = None  # the page the pair came from
    alt: str | None = None
    title: str | None = None
    caption: str | None = None
    context_before: str | None = None
    context_after: str | None = None
    declared_width: int | None = None
    declared_height: int | None = None
    input_file: str | None = None
    offset: int | None = None
    from_listing: bool = False  # from a listing line rather than a crawled page
    quality: Quality = field(default_factory=Quality)

    @property
    def image_key(self) -> str:
        """What identifies the image: its URL, or its file path for a listing on disk."""
        return self.image_url or self.image_path or ""

    def replace(self, **changes: Any) -> ImagePair:
        return dataclasses.replace(self, **changes)

    def reject(self, stage: str, reason: str, *, score: float | None = None,
               detail: str | None = None, duplicate_of: str | None = None,
               kind: str = "image_text") -> RejectedRecord:
        return RejectedRecord(
            id=self.id, source=self.source, kind=kind, stage=stage, reason=reason, score=score,
            detail=detail, duplicate_of=duplicate_of, url=self.url,
            image_url=self.image_url or self.image_path, title=self.title, text=self.text,
            input_file=self.input_file, offset=self.offset,
        )


@dataclass
class ImageJob:
    """One image and every pair that refers to it."""

    key: str  # image URL or listing file path
    pairs: list[ImagePair]
    body: bytes | None = None
    origin: str | None = None  # crawl | download | file
    fetch_status: str | None = None  # the downloader's status, when it was downloaded
    content_type: str | None = None
    image_file: str | None = None  # WARC file the image record came from (origin crawl)

    @property
    def id(self) -> str:
        return make_id(self.source, self.key)

    @property
    def source(self) -> str:
        return self.pairs[0].source if self.pairs else "webpage"

    @property
    def url(self) -> str:
        return self.key

    def reject(self, stage: str, reason: str, *, score: float | None = None,
               detail: str | None = None) -> RejectedRecord:
        """Not one row but one per pair would be right; this is for the stage adapter's error
        path, which calls ``reject`` on the failing record. ``reject_all`` is the normal way."""
        rows = self.reject_all(stage, reason, score=score, detail=detail)
        return rows[0] if rows else self.reject_image(stage, reason, score=score, detail=detail)

    def reject_all(self, stage: str, reason: str, *, score: float | None = None,
                   detail: str | None = None) -> list[RejectedRecord]:
        """One ``image_text`` rejected row per pair: the image failed, so every pair does."""
        return [p.reject(stage, reason, score=score, detail=detail) for p in self.pairs]

    def reject_image(self, stage: str, reason: str, *, score: float | None = None,
                     detail: str | None = None) -> RejectedRecord:
        """A row of kind ``image``: an image with no pair (e.g. a crawl record nobody uses)."""
        return RejectedRecord(
            id=self.id, source=self.source, kind="image", stage=stage, reason=reason,
            score=score, detail=detail, image_url=self.key, input_file=self.image_file,
        )
