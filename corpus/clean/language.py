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

The shares are measured once per text: ``Document.script_shares`` remembers them with the string
they were measured on, so ``quality.language`` reuses them when cleaning left the text as it was
(most documents: 163 of the sample's 165 dump documents) and measures again only a text that
cleaning changed, since the stored ratios are those of the final text.

This stage runs right after markup removal and *before* ``KeepChineseEnglish``, which deletes
kana and hangul: afterwards a Japanese page would look like Chinese.
"""

from __future__ import annotations

from typing import ClassVar

from corpus.clean.config import CleanConfig
from corpus.document import Document
from corpus.stage import Filter, Verdict
from corpus.tokens import cjk_share

__all__ = ["CjkShareFilter", "cjk_share"]


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
        ratio, latin = record.script_shares()
        if ratio < self.min_cjk_ratio:
            return Verdict.drop("not_chinese", ratio,
                                f"cjk_ratio {ratio:.3f} < {self.min_cjk_ratio}")
        return Verdict.ok(ratio, cjk_ratio=ratio, latin_ratio=latin)
