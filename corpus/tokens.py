"""Token counts and script classes of text, until the corpus has a trained WordPiece tokenizer.

The paper's Table 1 counts *tokens*. Before the WordPiece vocabulary exists (``model/``), a token
here is what a Chinese BERT-style WordPiece tokenizer roughly yields per unit of text:

* every CJK ideograph (Han character, simplified or traditional) is one token, because Chinese
  WordPiece vocabularies split Chinese into single characters;
* every run of letters of an alphabet that separates words with spaces (Latin, with or without
  diacritics, Greek, Cyrillic) is one token: an English word;
* every other letter (kana, hangul, Thai, ...) is one token, like a Han character: those scripts
  do not separate words with spaces, so a run of them is a phrase, not a word;
* every run of digits is one token (``2008`` is one, ``3.14`` is two: the dot is not counted).

Punctuation and whitespace are not counted. ``count_tokens`` is therefore a lower bound of what
WordPiece will produce on English (it splits rare words into pieces) and close to exact on Chinese.

The same classes drive the language rule (``corpus/clean/language.py``): a document's CJK share
is its CJK characters over its letter tokens (CJK characters + words + other letters), so an English
word weighs what a Chinese character weighs, and a kana what a kanji weighs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Han ideographs: CJK Unified Ideographs, Extension A, compatibility ideographs, and the
# supplementary planes (Extensions B to H, compatibility supplement). ``〇`` (U+3007) is a
# number in category Nl but written as a Han character in Chinese text, so it counts as one.
CJK_CLASS = (
    "\u3007"
    "\u3400-\u4dbf"
    "\u4e00-\u9fff"
    "\uf900-\ufaff"
    "\U00020000-\U0003134f"
)

# Letters of alphabets whose words are separated by spaces, as explicit ranges (a lookahead such
# as ``(?![\W\d_])`` would be 4x slower): ASCII, Latin-1 Supplement and Latin Extended-A/B
# letters (without U+00D7 and U+00F7, the multiplication and division signs), Greek and Coptic,
# Cyrillic (without its signs and combining marks U+0482..U+0489).
_LATIN_CLASS = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_ALPHABET_CLASS = (
    _LATIN_CLASS
    + "\u0370-\u0373\u0376\u0377\u037a-\u037d\u037f\u0386\u0388-\u03f5\u03f7-\u03ff"
    + "\u0400-\u0481\u048a-\u04ff"
)

# Runs, not single characters: ``findall`` then builds one string per run instead of one per
# character, 3x faster on Chinese text.
_CJK_RUN_RE = re.compile(f"[{CJK_CLASS}]+")
_CJK_RE = re.compile(f"[{CJK_CLASS}]")
_WORD_RE = re.compile(f"[{_ALPHABET_CLASS}]+")
_LATIN_WORD_RE = re.compile(f"[{_LATIN_CLASS}]+")
# A letter (``[^\W\d_]``: ``re`` is Unicode-aware) of any other script: kana, hangul, Thai, ...
_OTHER_LETTER_RE = re.compile(f"[^\\W\\d_{_ALPHABET_CLASS}{CJK_CLASS}]")
_DIGITS_RE = re.compile(r"\d+")


def is_cjk(ch: str) -> bool:
    """True if the single character ``ch`` is a Han ideograph (see ``CJK_CLASS``)."""
    return _CJK_RE.match(ch) is not None


def count_cjk(text: str) -> int:
    """Number of Han ideographs in ``text``."""
    return sum(map(len, _CJK_RUN_RE.findall(text)))


def count_words(text: str) -> int:
    """Number of runs of Latin, Greek or Cyrillic letters in ``text``."""
    return len(_WORD_RE.findall(text))


def count_latin_words(text: str) -> int:
    """Number of runs of Latin letters (English words) in ``text``."""
    return len(_LATIN_WORD_RE.findall(text))


def count_other_letters(text: str) -> int:
    """Number of letters of other scripts (kana, hangul, ...) in ``text``."""
    return len(_OTHER_LETTER_RE.findall(text))


@dataclass(frozen=True)
class ScriptCounts:
    """What ``text`` is made of, in token units (see the module docstring)."""

    cjk: int  # Han characters
    words: int  # runs of Latin, Greek or Cyrillic letters
    latin_words: int  # the subset of ``words`` in Latin letters (English words)
    other_letters: int  # letters of other scripts (kana, hangul, ...), one each
    digit_runs: int

    @property
    def letter_tokens(self) -> int:
        return self.cjk + self.words + self.other_letters

    @property
    def tokens(self) -> int:
        return self.letter_tokens + self.digit_runs


def script_counts(text: str) -> ScriptCounts:
    """Count the token classes of ``text`` (five C-level regex passes)."""
    return ScriptCounts(
        cjk=count_cjk(text),
        words=count_words(text),
        latin_words=count_latin_words(text),
        other_letters=count_other_letters(text),
        digit_runs=len(_DIGITS_RE.findall(text)),
    )


def cjk_share(text: str) -> tuple[float, float]:
    """``(cjk_ratio, latin_ratio)`` of ``text``: CJK characters and ASCII words over letter
    tokens; ``(0.0, 0.0)`` when the text has no letters (the language rule's measure,
    ``corpus/clean/language.py``; ``Document.script_shares`` remembers it per text)."""
    cjk = count_cjk(text)
    words = count_words(text)
    n = cjk + words + count_other_letters(text)
    if n == 0:
        return 0.0, 0.0
    return cjk / n, (count_latin_words(text) / n if words else 0.0)


def count_tokens(text: str) -> int:
    """CJK characters + words + other letters + digit runs of ``text`` (module docstring)."""
    return (
        count_cjk(text)
        + count_words(text)
        + count_other_letters(text)
        + len(_DIGITS_RE.findall(text))
    )
