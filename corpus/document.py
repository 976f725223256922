"""Intermediate records that flow between corpus stages: raw pages, documents and image references.

A ``Page`` is one HTTP response from a crawl (bytes and headers, not yet decoded). A ``Document``
is text on its way to the ``text`` output: a parsed page or one line of a plain-text dump. An
``ImageRef`` is an ``<img>`` found on a page with the text around it, kept for the image-text path.

Stages pass these along and turn them into ``schemas`` rows at the end (``Document.to_text_record``)
or into a ``RejectedRecord`` when a stage drops them (``Document.reject``).

Every field of a ``Document`` is typed and ends up in an output row or decides a stage (plus one
memo, ``_shares``, that saves measuring a text twice): a document crosses several shuffles
(dedup), so nothing rides along unread. (An untyped ``meta`` dict with the page's charset and the
dump's own id once did; no stage or output read it.)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from corpus.tokens import cjk_share, count_tokens
from schemas import RejectedRecord, TextRecord
from schemas.records import QUALITY_FIELDS, Quality, quality_values


@dataclass
class Page:
    """One crawled HTTP response, before decoding. ``body`` is the raw payload bytes."""

    id: str
    url: str
    source: str
    body: bytes
    content_type: str | None = None
    http_charset: str | None = None
    status: int | None = None
    crawl_date: str | None = None
    input_file: str | None = None
    offset: int | None = None

    def reject(self, stage: str, reason: str, *, score: float | None = None,
               detail: str | None = None) -> RejectedRecord:
        preview = self.body[:2000].decode("utf-8", "replace") if self.body else None
        return RejectedRecord(
            id=self.id, source=self.source, kind="page", stage=stage, reason=reason, score=score,
            detail=detail, url=self.url, text=preview, input_file=self.input_file,
            offset=self.offset,
        )


@dataclass
class ImageRef:
    """An image referenced by a page, with the text that surrounds it in the DOM."""

    url: str
    alt: str | None = None
    title: str | None = None
    caption: str | None = None
    context_before: str | None = None
    context_after: str | None = None
    width: int | None = None  # declared in the HTML attributes, if any
    height: int | None = None


@dataclass
class Document:
    """Text on its way to the ``text`` output, with the scores stages have left on it."""

    id: str
    source: str
    text: str
    url: str | None = None
    title: str | None = None
    input_file: str | None = None
    offset: int | None = None
    crawl_date: str | None = None
    images: list[ImageRef] = field(default_factory=list)
    quality: Quality = field(default_factory=Quality)
    # ``script_shares`` of ``text``, kept with the very string they were measured on (not an
    # __init__ argument, not compared): valid exactly while ``text`` is that object.
    _shares: tuple[str, float, float] | None = field(default=None, init=False, repr=False,
                                                     compare=False)

    def replace(self, **changes: Any) -> Document:
        new = dataclasses.replace(self, **changes)
        new._shares = self._shares  # checked against the text on use: a new text re-measures
        return new

    def script_shares(self) -> tuple[float, float]:
        """``(cjk_ratio, latin_ratio)`` of ``text`` (``corpus.tokens.cjk_share``), measured
        once per text: ``clean.language`` measures it, ``quality.language`` reuses it unless a
        cleaning stage changed the text in between. Remembering a pure function of the text
        beside that text is the one write a stage may make to its input: it changes no value
        another consumer of the same object can see."""
        memo = self._shares
        if memo is not None and memo[0] is self.text:
            return memo[1], memo[2]
        cjk, latin = cjk_share(self.text)
        self._shares = (self.text, cjk, latin)
        return cjk, latin

    def reject(self, stage: str, reason: str, *, score: float | None = None,
               detail: str | None = None, duplicate_of: str | None = None,
               kind: str = "text") -> RejectedRecord:
        return RejectedRecord(
            id=self.id, source=self.source, kind=kind, stage=stage, reason=reason, score=score,
            detail=detail, duplicate_of=duplicate_of, url=self.url, title=self.title,
            text=self.text, input_file=self.input_file, offset=self.offset,
        )

    def to_text_record(self) -> TextRecord:
        """The ``text`` row of this document; its token count is ``corpus.tokens.count_tokens``
        of the text (Table 1's token column)."""
        # plain values: not deep-copied by ``dataclasses.asdict`` (a third of this call's time)
        q = dict(zip(QUALITY_FIELDS, quality_values(self.quality)))
        return TextRecord(
            id=self.id, source=self.source, text=self.text, url=self.url, title=self.title,
            n_chars=len(self.text), n_tokens=count_tokens(self.text),
            input_file=self.input_file, crawl_date=self.crawl_date, **q,
        )
