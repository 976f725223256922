"""Texts as numpy arrays of code points, and tables over all code points, for the per-document
stages that work on characters with numpy instead of Python loops (token counts, character
cleaning, the spam features, the bad-word prefilter, n-gram repetition, dedup's normal form).

``code_points`` is a text's UTF-32 code points (lone surrogates passed through, as the stages
read them), ``text_of`` the way back. ``every_code_point`` is one string of all code points,
built once per process, so that a table of what each code point is can be made by running the
regexes that define it over that string (``regex_table``): the table then cannot disagree with
the regexes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

import numpy as np

CODE_POINTS = 0x110000


def code_points(text: str) -> np.ndarray:
    """The code points of ``text`` as a uint32 array (a view of its UTF-32 encoding)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def text_of(codes: np.ndarray) -> str:
    """The text of uint32 code points ``codes`` (``code_points`` reversed)."""
    return np.asarray(codes, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")


@cache
def every_code_point() -> str:
    """All code points, U+0000 to U+10FFFF, in order (4.4 MB, once per process)."""
    return text_of(np.arange(CODE_POINTS, dtype=np.uint32))


def regex_table(classes: Iterable[tuple[int, re.Pattern[str]]]) -> np.ndarray:
    """uint8 over all code points: for each ``(bits, regex)``, ``bits`` set on every code point
    that ``regex`` matches in ``every_code_point``."""
    every = every_code_point()
    table = np.zeros(CODE_POINTS, dtype=np.uint8)
    for bits, regex in classes:
        for m in regex.finditer(every):
            table[m.start():m.end()] |= bits
    return table


__all__ = ["CODE_POINTS", "code_points", "every_code_point", "regex_table", "text_of"]
