"""The language rule: keep documents written mostly in Chinese.

The paper keeps "characters and punctuation marks that are in Chinese and English"; a page in
Japanese, Korean or English would survive that as Han fragments or as English text, so documents
whose text is not mostly Chinese are dropped first.

Measure: the CJK share is CJK characters over *letter tokens*, where a letter token is a CJK
character or a run of other letters (an English word, a run of kana); see ``corpus/tokens.py``.
Counting an English word once, like a Chinese character, matches how both tokenize, and keeps
Chinese text that mentions "check in" or a URL (measurements in ``corpus/clean/config.py``).
Digits and punctuation are not letters and do not count either way.

* reason ``not_chinese`` when the share is under ``min_cjk_ratio``; the score is the share;
* a text with no letters at all (only digits, punctuation or emoji) has share 0 and is dropped;
* a blank text (empty or whitespace) is not judged here: it is the length rule's to drop, with
  the reason that explains it, ``text_too_short``;
* a kept document gets ``quality.cjk_ratio`` (the share) and ``quality.latin_ratio`` (ASCII
  words over letter tokens).

This stage runs right after markup removal and *before* ``KeepChineseEnglish``, which deletes
kana and hangul: afterwards a Japanese page would look like Chinese.
"""

from __future__ import annotations

from typing import ClassVar

from corpus.clean.config import CleanConfig
from corpus.document import Document
from corpus.stage import Filter, Verdict
from corpus.tokens import count_cjk, count_latin_words, count_other_letters, count_words


def cjk_share(text: str) -> tuple[float, float]:
    """``(cjk_ratio, latin_ratio)`` of ``text``: CJK characters and ASCII words over letter
    tokens; ``(0.0, 0.0)`` when the text has no letters."""
    cjk = count_cjk(text)
    words = count_words(text)
    n = cjk + words + count_other_letters(text)
    if n == 0:
        return 0.0, 0.0
    return cjk / n, (count_latin_words(text) / n if words else 0.0)


class CjkShareFilter(Filter):
    """Filter: reason ``not_chinese``; stores ``cjk_ratio`` and ``latin_ratio`` on quality."""

    name: ClassVar[str] = "clean.language"

    def __init__(self, min_cjk_ratio: float = 0.5):
        self.min_cjk_ratio = min_cjk_ratio

    @classmethod
    def from_config(cls, cfg: CleanConfig) -> CjkShareFilter:
        return cls(cfg.min_cjk_ratio)

    def keep(self, record: Document) -> Verdict:
        if not record.text.strip():
            return Verdict.ok()  # blank: MinLengthFilter drops it as text_too_short
        ratio, latin = cjk_share(record.text)
        if ratio < self.min_cjk_ratio:
            return Verdict.drop("not_chinese", ratio,
                                f"cjk_ratio {ratio:.3f} < {self.min_cjk_ratio}")
        return Verdict.ok(ratio, cjk_ratio=ratio, latin_ratio=latin)
