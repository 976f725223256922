"""Keep only Chinese and English characters and punctuation (paper section 2.3: "we only reserve
characters and punctuation marks that are in Chinese and English").

Decisions (each has a test in ``tests/corpus/test_clean_chars.py``):

* **No NFKC.** NFKC folds full-width Chinese punctuation into ASCII (``，！？：（`` become
  ``,!?:(``), which changes how Chinese text is written and what a tokenizer sees. Text is put
  in **NFC** instead (safe for punctuation; it maps CJK compatibility ideographs such as U+F900
  to their unified form and composes accents), then a small explicit table folds only what is
  the same character in another width:
  - full-width letters and digits (``ＡＢＣ１２３``) become ASCII (``ABC123``);
  - half-width CJK punctuation (``｡｢｣､``) becomes full-width (``。「」、``);
  - ``・`` (U+30FB) and ``‧`` (U+2027), used between parts of foreign names, become ``·``;
  - Latin letters with diacritics lose them (``café`` -> ``cafe``): they are English letters.
* **Kept:** Han characters, simplified and **traditional** alike (both are Chinese; no
  conversion, which would need a dictionary such as OpenCC and can be lossy) and ``〇``; ASCII
  letters; **digits** 0-9 (years, prices, quantities, order numbers carry meaning in Chinese
  text; the language model filter judges digit soup later); Chinese punctuation
  (``，。、；：？！“”‘’（）《》〈〉「」『』【】〔〕〖〗—…·～￥``, full-width ASCII punctuation
  such as ``％＆＊＋－．／＝＠［］＿＂＃＄＇``), English punctuation
  (``!"#$%&'()*+,-./:;=?@[]_~``), and ``°``, ``℃``, ``¥``, ``–``.
* **Dropped:** everything else: emoji and pictographs, kana, hangul, Cyrillic, Greek, Arabic,
  other scripts, box drawing, circled numbers, math symbols, ``<>\\^`{|}`` and their full-width
  forms, control and zero-width characters, private-use characters, ``•``.
* **Whitespace:** every Unicode space (``U+3000`` ideographic space, no-break space, tab) becomes
  one ASCII space; runs of spaces collapse to one; newlines are kept as paragraph breaks (``\\r\\n``
  and ``\\r`` become ``\\n``, blank lines collapse, spaces around a newline go); the text is
  stripped. A title becomes one line.
* A run of dropped characters disappears; it becomes one space only between two ASCII letters or
  digits, so ``hello😀world`` -> ``hello world`` but ``好😀的`` -> ``好的``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import ClassVar

import numpy as np

from corpus.clean.transform import TextTransform
from corpus.codepoints import code_points, regex_table
from corpus.tokens import CJK_CLASS

ASCII_PUNCT_KEPT = "!\"#$%&'()*+,-./:;=?@[]_~"
CJK_PUNCT_KEPT = (
    "、。〃〈〉《》「」『』【】〔〕〖〗〜〝〞〟"  # CJK Symbols and Punctuation
    "‐‑‒–—―‘’“”…"  # General Punctuation
    "·°¥℃"
    "￥"
)
# Full-width forms of the kept ASCII punctuation (U+FF01..U+FF5E mirror U+0021..U+007E).
FULLWIDTH_PUNCT_KEPT = "".join(chr(ord(c) + 0xFEE0) for c in ASCII_PUNCT_KEPT)


def _class_escape(chars: str) -> str:
    return "".join("\\" + c if c in "\\]^-[" else c for c in chars)


_ALLOWED_CLASS = (
    CJK_CLASS
    + "A-Za-z0-9 \n"
    + _class_escape(ASCII_PUNCT_KEPT + CJK_PUNCT_KEPT + FULLWIDTH_PUNCT_KEPT)
)
_DISALLOWED_RUN = re.compile(f"[^{_ALLOWED_CLASS}]+")
# Both start with literals, which ``re`` finds with a fast scan; `` {2,}`` and `` *\n[ \n]*``
# start with a repeat, which it tries at every position (4 and 6 us on a 500-character page).
_SPACES = re.compile(r"  +")
_NEWLINE_RUN = re.compile(r"\n[ \n]+")


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str | None]:
    """``str.translate`` table: width folding, spaces, zero-width deletion, diacritics."""
    table: dict[int, str | None] = {}
    for cp in range(0xFF10, 0xFF1A):  # ０-９
        table[cp] = chr(cp - 0xFEE0)
    for cp in list(range(0xFF21, 0xFF3B)) + list(range(0xFF41, 0xFF5B)):  # Ａ-Ｚ ａ-ｚ
        table[cp] = chr(cp - 0xFEE0)
    table.update({0xFF61: "。", 0xFF62: "「", 0xFF63: "」", 0xFF64: "、"})
    table.update({0x30FB: "·", 0x2027: "·"})
    for cp in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD):  # zero-width, soft hyphen
        table[cp] = None
    for cp in range(0x80, 0x3001):
        ch = chr(cp)
        if ch.isspace() and ch != "\n":
            table[cp] = "\n" if ch in "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029" else " "
        elif ch.isalpha():
            base = unicodedata.normalize("NFD", ch)[0]
            if base.isascii() and base.isalpha():
                table[cp] = base
    table.update({0x3000: " ", ord("\t"): " ", ord("\r"): "\n", 0x0B: "\n", 0x0C: "\n"})
    return table


@lru_cache(maxsize=1)
def _fold_re() -> re.Pattern[str]:
    """Runs of characters that ``_fold_table`` changes. ``str.translate`` with a dict looks up
    every character in Python (180 us on a 1,000-character page); finding the few runs that
    need it with a regex and translating only them is 7x faster on ordinary Chinese text."""
    return re.compile("[" + "".join(_class_escape(chr(cp)) if cp > 0x20 else f"\\x{cp:02x}"
                                    for cp in sorted(_fold_table())) + "]+")


_FOLDS, _DROPS = 1, 2


@lru_cache(maxsize=1)
def _work_table() -> np.ndarray:
    """Each code point's work: ``_FOLDS`` (in ``_fold_table``), ``_DROPS`` (outside the allowed
    class and not folded, so still there for ``_DISALLOWED_RUN`` after folding: a fold never
    yields a disallowed character). 1.1 MB, built once per process."""
    table = regex_table([(_DROPS, _DISALLOWED_RUN)])
    table[list(_fold_table())] = _FOLDS
    return table


def _work(text: str) -> int:
    """``_FOLDS | _DROPS``, whichever ``text`` needs: most pages need neither, and one numpy
    lookup costs a third of scanning them with both regexes."""
    return int(np.bitwise_or.reduce(_work_table().take(code_points(text))))


def _fold(match: re.Match[str]) -> str:
    return match.group().translate(_fold_table())


def _drop(match: re.Match[str]) -> str:
    s, a, b = match.string, match.start(), match.end()
    if 0 < a and b < len(s) and s[a - 1].isascii() and s[a - 1].isalnum() \
            and s[b].isascii() and s[b].isalnum():
        return " "
    return ""


def keep_zh_en(text: str) -> str:
    """``text`` reduced to Chinese and English characters, digits and punctuation (see above)."""
    if not text:
        return text
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n")
    work = _work(text)
    if work & _FOLDS:
        text = _fold_re().sub(_fold, text)
    if work & _DROPS:
        text = _DISALLOWED_RUN.sub(_drop, text)
    text = _SPACES.sub(" ", text)
    if "\n" in text:
        # spaces and newlines around a newline become one newline: with no two spaces in a row
        # left, that is the space before each newline going, then each run after a newline
        text = _NEWLINE_RUN.sub("\n", text.replace(" \n", "\n"))
    return text.strip()


def keep_zh_en_line(text: str) -> str:
    """``keep_zh_en`` for a one-line field (a title): newlines become spaces."""
    return _SPACES.sub(" ", keep_zh_en(text).replace("\n", " "))


class KeepChineseEnglish(TextTransform):
    """Stage: ``keep_zh_en`` on the text, ``keep_zh_en_line`` on the title."""

    name: ClassVar[str] = "clean.chars"

    def transform(self, text: str) -> str:
        return keep_zh_en(text)

    def transform_title(self, title: str) -> str:
        return keep_zh_en_line(title)
