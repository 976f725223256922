"""``TextTransform``: a cleaning stage that rewrites a document's text and title, never drops it.

Rewriting stages (markup, characters, punctuation) only change strings; whether what is left is
long enough is decided once, at the end, by ``MinLengthFilter``. So a text that cleans down to
nothing is still yielded here and rejected there with reason ``text_too_short``.

Title convention, shared by every cleaning stage: a title that is ``None`` or blank on arrival
means "this document has no title" and is set to ``None``; a title that had content keeps being a
string even if cleaning empties it, so the title rule still sees it (and drops it as too short).
Stages return a new ``Document`` and never mutate their input (Beam may reuse input elements).
A text or title that is not a string (a number from a sloppy JSON dump) is rejected with reason
``not_a_string`` rather than raising.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from corpus.document import Document
from corpus.stage import Stage
from schemas import RejectedRecord


class TextTransform(Stage):
    """Apply ``transform`` to ``Document.text`` and ``transform_title`` to its title."""

    name: ClassVar[str] = "clean.transform"

    def transform(self, text: str) -> str:
        raise NotImplementedError

    def transform_title(self, title: str) -> str:
        return self.transform(title)

    def process(self, record: Document) -> Iterator[Document | RejectedRecord]:
        for field in ("text", "title"):
            value = getattr(record, field)
            if not isinstance(value, str) and not (field == "title" and value is None):
                yield record.replace(text=str(record.text), title=None).reject(
                    self.name, "not_a_string",
                    detail=f"{field} is a {type(value).__name__}, not a string")
                return
        title = record.title
        if title is not None:
            title = self.transform_title(title) if title.strip() else None
        text = self.transform(record.text)
        if text == record.text:
            text = record.text  # the same object: what was measured on it stays valid
        yield record.replace(text=text, title=title)
