"""Drop short titles and short texts (paper section 2.3: "We remove the topics that are shorter
than 5 characters and contents shorter than 15 characters").

A length is the number of non-whitespace characters of the *cleaned* string (this stage runs
last among the cleaning stages), so markup, emoji and collapsed punctuation never count. Han
characters, letters, digits and punctuation each count one.

* ``text_too_short``: the text has fewer than ``min_text_chars`` characters;
* ``title_too_short``: the document has a title (see ``corpus/clean/transform.py``: ``None``
  means none, a string that cleaning emptied still counts) with fewer than ``min_title_chars``
  characters, and its source is not in ``title_rule_skip_sources`` (encyclopedia titles are
  entry names such as "长城", not topics).

The text rule is checked first, so a document failing both is reported as ``text_too_short``.
The score of a rejected record is the length that failed.
"""

from __future__ import annotations

import re
from typing import ClassVar

from corpus.clean.config import CleanConfig
from corpus.document import Document
from corpus.stage import Filter, Verdict

_WHITESPACE = re.compile(r"\s+")


def visible_length(text: str) -> int:
    """Number of non-whitespace characters in ``text``."""
    return len(text) - sum(len(m) for m in _WHITESPACE.findall(text))


class MinLengthFilter(Filter):
    """Filter: reasons ``text_too_short`` and ``title_too_short``."""

    name: ClassVar[str] = "clean.length"

    def __init__(self, min_text_chars: int = 15, min_title_chars: int = 5,
                 title_rule_skip_sources: tuple[str, ...] = ("encyclopedia",)):
        self.min_text_chars = min_text_chars
        self.min_title_chars = min_title_chars
        self.title_rule_skip_sources = tuple(title_rule_skip_sources)

    @classmethod
    def from_config(cls, cfg: CleanConfig) -> MinLengthFilter:
        return cls(cfg.min_text_chars, cfg.min_title_chars, cfg.title_rule_skip_sources)

    def keep(self, record: Document) -> Verdict:
        n = visible_length(record.text)
        if n < self.min_text_chars:
            return Verdict.drop("text_too_short", float(n),
                                f"text has {n} characters, minimum {self.min_text_chars}")
        if record.title is not None and record.source not in self.title_rule_skip_sources:
            n = visible_length(record.title)
            if n < self.min_title_chars:
                return Verdict.drop("title_too_short", float(n),
                                    f"title has {n} characters, minimum {self.min_title_chars}")
        return Verdict.ok()
