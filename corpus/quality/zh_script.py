"""Simplified <-> Traditional Chinese for matching and scoring only (issue 16.1, 16.3).

The cleaning rules keep Traditional characters (paper 2.3 keeps Chinese, not one script of it),
but the bad-word lists and the sample's reference text are Simplified. Converting with OpenCC
(the maintained converter used by Chinese Wikipedia tools; PyPI ``opencc``, pinned in
pyproject.toml) lets both scripts be judged alike; the text itself is always kept as written.

* ``traditional_variants(word)``: the spellings of a Simplified word in Traditional script
  (OpenCC ``s2t``, ``s2tw``, ``s2hk``, ``s2twp``), so the Aho-Corasick automaton can hold them
  beside the word and still scan the text once, unconverted;
* ``to_simplified(text)``: OpenCC ``t2s``, character by character and phrase by phrase. OpenCC
  converts about 24 M characters a second here (bench/bench_filters_zh.py); the result has the
  same length as the input except for rare phrase conversions, which callers that need offsets
  check;
* ``simplified_for_scoring(text)``: OpenCC ``tw2sp`` (characters and Taiwan phrases) only for text that holds a character
  OpenCC would change (a numpy table lookup over the UTF-32 code points, a few ns a character),
  so the kenlm filter pays for conversion only on Traditional text: OpenCC on every document
  would cost more than kenlm's own ~27 ns a character (the stage's budget is 1.2x kenlm).

OpenCC converters are C++ objects; they are created lazily, once per process, and never pickled.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

_TO_TRADITIONAL = ("s2t", "s2tw", "s2hk", "s2twp")


@cache
def _converter(config: str) -> Any:
    try:
        import opencc
    except ImportError:  # pragma: no cover - opencc is a dependency of the package
        raise ImportError("Traditional-Chinese matching needs OpenCC: pip install 'opencc>=1.1.9'"
                          ) from None
    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    """``text`` in Simplified script (OpenCC ``t2s``); Simplified text comes back unchanged."""
    return _converter("t2s").convert(text)


def traditional_variants(word: str) -> set[str]:
    """Traditional spellings of ``word`` that differ from it (empty for a word without any)."""
    out = {_converter(c).convert(word) for c in _TO_TRADITIONAL}
    out.discard(word)
    return out


def opencc_version() -> str:
    from importlib.metadata import version

    return version("opencc")


# Code points OpenCC t2s may change: CJK Unified Ideographs with extension A, compatibility
# ideographs, and the supplementary planes' ideographs (extensions B-F).
_RANGES = ((0x3400, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FFFF))
_TABLE_SIZE = 0x110000  # every code point, so a lookup needs no clipping (1.1 MB)


@cache
def _traditional_table() -> np.ndarray:
    """A boolean table over code points: True where OpenCC t2s changes the character alone."""
    chars = [chr(c) for lo, hi in _RANGES for c in range(lo, hi + 1)]
    # one conversion of all characters, a newline between them so no phrase spans two
    converted = to_simplified("\n".join(chars)).split("\n")
    table = np.zeros(_TABLE_SIZE, dtype=bool)
    if len(converted) == len(chars):
        for ch, out in zip(chars, converted):
            if out != ch:
                table[ord(ch)] = True
    return table


@cache
def _traditional_set() -> frozenset[str]:
    return frozenset(chr(c) for c in np.nonzero(_traditional_table())[0])


def has_traditional_codes(codes: np.ndarray) -> bool:
    """Whether UTF-32 code points ``codes`` hold a character that OpenCC t2s would change (for
    callers that already hold the array: the kenlm units are made from one)."""
    # count_nonzero: a third of ndarray.any's per-call cost, which is most of it on a page
    return np.count_nonzero(_traditional_table().take(codes)) > 0


def simplified_wording(text: str) -> str:
    """``text`` through OpenCC ``tw2sp`` (see ``simplified_for_scoring``), line by line, only
    the lines that have a Traditional character: a page that quotes one Traditional paragraph
    pays for that paragraph (OpenCC costs about 60 ns a character)."""
    convert = _converter("tw2sp").convert
    if "\n" not in text:
        return convert(text)
    return "\n".join(convert(line) if has_traditional(line) else line
                     for line in text.split("\n"))


def has_traditional(text: str) -> bool:
    """Whether ``text`` holds a character that OpenCC t2s would change."""
    if text.isascii():
        return False
    if len(text) < 200:  # a set is cheaper than numpy's per-call cost on short text
        return not _traditional_set().isdisjoint(text)
    return has_traditional_codes(np.frombuffer(text.encode("utf-32-le", "replace"),
                                               dtype=np.uint32))


def simplified_for_scoring(text: str) -> str:
    """``text`` in Simplified script with mainland wording (OpenCC ``tw2sp``: 檔案 -> 文件,
    預設 -> 默认, 軟體 -> 软件) when it has Traditional characters, else ``text`` itself.

    Characters alone (``t2s``) left Taiwan's technical vocabulary, which a Simplified reference
    has never seen: on manpages-zh the kenlm filter dropped 45.7% of the zh_TW documents against
    38.5% of their zh_CN originals with ``t2s``, 43.8% with ``tw2sp`` (600 documents each,
    bench/bench_filters_zh.py; the sample model, trained on 91 encyclopedia entries).
    """
    return simplified_wording(text) if has_traditional(text) else text
