"""How many terminal columns a string takes, for plain-text tables (``m6 inspect``, Table 1 in
``corpus/stats.py``) whose cells hold Chinese.

``str.ljust`` pads to a number of characters, but a terminal draws a Chinese character, a
full-width form or a wide emoji in two columns, so a table whose cells hold ``百科`` drifts one
column per character. Unicode's East Asian Width property (UAX #11, read with
``unicodedata.east_asian_width``) says which characters are wide (``W``) or full-width (``F``);
combining marks (general category ``Mn``, ``Me``) and zero-width format characters (``Cf``)
take no column. That is the core of ``wcwidth``'s rule, with no dependency; ambiguous-width
characters (``A``: ``±``, Greek, Cyrillic) count as one column, as in a Chinese locale's
terminals with the usual setting and in wcwidth.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache


@lru_cache(maxsize=4096)
def char_width(ch: str) -> int:
    """Columns of one character: 2 wide or full-width, 0 combining or format, else 1."""
    if ch.isascii():
        return 1 if ch.isprintable() else 0
    if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def width(text: str) -> int:
    """Columns ``text`` takes on a terminal (one line)."""
    if text.isascii():
        return len(text)
    return sum(char_width(ch) for ch in text)


def ljust(text: str, columns: int) -> str:
    """``text`` padded with spaces on the right to ``columns`` columns."""
    return text + " " * max(columns - width(text), 0)


def rjust(text: str, columns: int) -> str:
    """``text`` padded with spaces on the left to ``columns`` columns."""
    return " " * max(columns - width(text), 0) + text


def clip(text: str, columns: int) -> str:
    """The longest start of ``text`` that fits in ``columns`` columns (a wide character that
    would straddle the edge is left out)."""
    if width(text) <= columns:
        return text
    used, end = 0, 0
    for i, ch in enumerate(text):
        w = char_width(ch)
        if used + w > columns:
            break
        used, end = used + w, i + 1
    return text[:end]
