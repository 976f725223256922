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

The classes are regexes (``count_cjk``, ``count_words``... count one each); ``script_counts``,
``count_tokens`` and ``cjk_share``, which every document goes through, count all of them in one
numpy pass over a table of each code point's classes built from those regexes, 2x faster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np

from corpus.codepoints import code_points, regex_table

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


# The counters below read all five classes in one numpy pass instead of one regex pass each:
# every code point has a byte of class bits, found by running the regexes above over all code
# points once per process (``_class_table``, 1.1 MB, about 0.2 s). A run begins where a character
# has its run class's bit and the one before has not, so each count is a function of the pair
# (bits of the character before, bits of the character): a histogram of the pairs times a table
# of what each pair adds (``_PAIR_COUNTS``) gives the five counts at once.
_WORD_BIT, _LATIN_BIT, _DIGIT_BIT, _CJK_BIT, _OTHER_BIT = 1, 2, 4, 8, 16
_RUN_BITS = _WORD_BIT | _LATIN_BIT | _DIGIT_BIT  # the classes counted by runs, not characters


@cache
def _class_table() -> np.ndarray:
    return regex_table(((_WORD_BIT, _WORD_RE), (_LATIN_BIT, _LATIN_WORD_RE),
                        (_DIGIT_BIT, _DIGITS_RE), (_CJK_BIT, _CJK_RUN_RE),
                        (_OTHER_BIT, re.compile(f"(?:{_OTHER_LETTER_RE.pattern})+"))))


def _pair_counts() -> np.ndarray:
    """Row ``(run bits before) << 5 | bits``: what the character adds to (cjk, words,
    latin_words, other_letters, digit_runs)."""
    counts = np.zeros(((_RUN_BITS + 1) << 5, 5), dtype=np.int64)
    for before in range(_RUN_BITS + 1):
        for bits in range(32):
            counts[before << 5 | bits] = (
                bool(bits & _CJK_BIT),
                bool(bits & _WORD_BIT and not before & _WORD_BIT),
                bool(bits & _LATIN_BIT and not before & _LATIN_BIT),
                bool(bits & _OTHER_BIT),
                bool(bits & _DIGIT_BIT and not before & _DIGIT_BIT))
    return counts


_PAIR_COUNTS = _pair_counts()


def _five_counts(text: str) -> list[int]:
    """``[cjk, words, latin_words, other_letters, digit_runs]`` of ``text``."""
    # a space in front (no class), so that every character has one before it
    bits = _class_table().take(code_points(" " + text))
    pairs = ((bits[:-1] & _RUN_BITS) << 5) | bits[1:]
    return (np.bincount(pairs, minlength=len(_PAIR_COUNTS)) @ _PAIR_COUNTS).tolist()


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
    """Count the token classes of ``text`` (one numpy pass)."""
    return ScriptCounts(*_five_counts(text))


def cjk_share(text: str) -> tuple[float, float]:
    """``(cjk_ratio, latin_ratio)`` of ``text``: CJK characters and ASCII words over letter
    tokens; ``(0.0, 0.0)`` when the text has no letters (the language rule's measure,
    ``corpus/clean/language.py``; ``Document.script_shares`` remembers it per text)."""
    cjk, words, latin_words, other_letters, _ = _five_counts(text)
    n = cjk + words + other_letters
    if n == 0:
        return 0.0, 0.0
    return cjk / n, (latin_words / n if words else 0.0)


def count_tokens(text: str) -> int:
    """CJK characters + words + other letters + digit runs of ``text`` (module docstring)."""
    cjk, words, _, other_letters, digit_runs = _five_counts(text)
    return cjk + words + other_letters + digit_runs
