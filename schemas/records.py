"""Row dataclasses that build the rows of the three outputs, and the stable record id.

Every record carries a stable ``id``: the first 16 bytes (32 hex digits) of the SHA-1 of its source
and a key (the URL, or the input file and offset where there is no URL), so a rerun over the same
input gives the same ids and the same rows (docs/design.md, "Outputs and their invariants").

``to_row()`` returns a plain dict with exactly the columns of the matching Arrow schema, in order.
"""

from __future__ import annotations

import dataclasses
import hashlib
import operator
from dataclasses import dataclass, field
from typing import Any

from schemas.arrow import IMAGE_TEXT_SCHEMA, REJECTED_SCHEMA, TEXT_SCHEMA
from schemas.sources import check_source

REJECTED_TEXT_LIMIT = 2000  # characters of the original text kept on a rejected row
REJECTED_TITLE_LIMIT = 500


def make_id(source: str, key: str) -> str:
    """Stable id of a record: SHA-1 over ``source`` and ``key``, 32 hex digits."""
    h = hashlib.sha1(source.encode("utf-8"))
    h.update(b"\x00")
    h.update(key.encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:32]


def _bounded(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[:limit]


def _row(obj: Any, names: list[str]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


_TEXT_NAMES = TEXT_SCHEMA.names
_IMAGE_TEXT_NAMES = IMAGE_TEXT_SCHEMA.names
_REJECTED_NAMES = REJECTED_SCHEMA.names


@dataclass
class Quality:
    """Scores the quality stages leave on a kept record (all optional)."""

    perplexity: float | None = None
    perplexity_bucket: str | None = None
    spam_score: float | None = None
    badword_ratio: float | None = None
    cjk_ratio: float | None = None
    latin_ratio: float | None = None
    lang: str | None = None
    lang_score: float | None = None
    dup_line_frac: float | None = None
    top_ngram_frac: float | None = None


# Quality's fields, all plain values (floats, strings, None), and a getter of them in one C call:
# ``TextRecord`` rows and the dedup's packed documents read them for every document
QUALITY_FIELDS = tuple(f.name for f in dataclasses.fields(Quality))
quality_values = operator.attrgetter(*QUALITY_FIELDS)


@dataclass
class TextRecord(Quality):
    """One row of the ``text`` output."""

    id: str = ""
    source: str = ""
    text: str = ""
    url: str | None = None
    title: str | None = None
    n_chars: int = 0
    n_tokens: int = 0
    input_file: str | None = None
    crawl_date: str | None = None

    def __post_init__(self) -> None:
        check_source(self.source)

    def to_row(self) -> dict[str, Any]:
        return _row(self, _TEXT_NAMES)


@dataclass
class ImageTextRecord(Quality):
    """One row of the ``image_text`` output: an image's bytes and the text that describes it.

    ``to_row`` keeps ``image`` as bytes (what the pipeline passes around and sizes shards by);
    the shard writer stores it as the Hugging Face Image struct (``schemas/image_column.py``)."""

    id: str = ""
    source: str = ""
    text: str = ""
    image: bytes = b""
    format: str = ""
    width: int = 0
    height: int = 0
    orig_width: int = 0
    orig_height: int = 0
    sha256: str = ""
    url: str | None = None
    image_url: str | None = None
    alt: str | None = None
    title: str | None = None
    caption: str | None = None
    context_before: str | None = None
    context_after: str | None = None
    orig_format: str | None = None
    orig_sha256: str | None = None
    phash: str | None = None
    sharpness: float | None = None
    entropy: float | None = None
    colourfulness: float | None = None
    jpeg_quality: float | None = None
    n_chars: int = 0
    n_tokens: int = 0
    input_file: str | None = None

    def __post_init__(self) -> None:
        check_source(self.source)

    def to_row(self) -> dict[str, Any]:
        return _row(self, _IMAGE_TEXT_NAMES)


@dataclass
class RejectedRecord:
    """One row of the ``rejected`` output: what was dropped, by which stage, and why.

    ``text`` and ``title`` are cut to a bound so a rerun with other thresholds is possible without
    keeping whole pages twice.
    """

    id: str
    source: str
    kind: str
    stage: str
    reason: str
    score: float | None = None
    detail: str | None = None
    duplicate_of: str | None = None
    url: str | None = None
    image_url: str | None = None
    title: str | None = None
    text: str | None = None
    input_file: str | None = None
    offset: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.title = _bounded(self.title, REJECTED_TITLE_LIMIT)
        self.text = _bounded(self.text, REJECTED_TEXT_LIMIT)
        if self.detail is not None:
            self.detail = _bounded(self.detail, REJECTED_TEXT_LIMIT)

    def to_row(self) -> dict[str, Any]:
        return _row(self, _REJECTED_NAMES)


def replace(record: Any, **changes: Any) -> Any:
    """``dataclasses.replace`` re-exported so stages need not import dataclasses for it."""
    return dataclasses.replace(record, **changes)
