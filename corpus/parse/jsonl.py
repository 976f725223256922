"""One JSON line parsed within limits of size and nesting depth (issue 15, point 4).

Python's ``json`` decoder recurses once per ``[`` or ``{``: a line of 100,000 brackets raises
``RecursionError``, which is not a ``ValueError``, so a reader that caught only ``ValueError``
lost the whole file (and the input planner, which sniffs first lines, crashed). ``loads_limited``
measures the nesting first with a scan that runs at C speed (bracket counts, then the brackets
outside strings only when the counts could exceed the limit) and raises ``JsonLimitError``, a
``ValueError``, for a line over ``max_depth`` or ``max_chars``; anything the decoder still raises
comes back as a ``JsonLimitError`` too, so a caller's one ``except ValueError`` covers every line.

Dump and listing lines are flat objects (depth 1-2); 64 levels leave room for nested metadata.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

MAX_DEPTH = 64
MAX_CHARS = 8 * 1024 * 1024  # DumpConfig.max_line_bytes
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class JsonLimitError(ValueError):
    """A line over a limit, or one the decoder could not read; ``reason`` names which."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def json_depth(text: str) -> int:
    """How deep ``[`` and ``{`` nest in ``text`` (brackets inside strings do not count)."""
    if text.count("[") + text.count("{") == 0:
        return 0
    steps = map(_STEP.__getitem__, _BRACKET.findall(_STRING.sub("", text)))
    return max(accumulate(steps), default=0)


def loads_limited(text: str, max_depth: int = MAX_DEPTH, max_chars: int = MAX_CHARS) -> Any:
    """``json.loads(text)`` unless ``text`` is longer than ``max_chars`` (``line_too_long``) or
    nests deeper than ``max_depth`` (``too_deep``). Raises ``JsonLimitError`` (a ValueError)."""
    if len(text) > max_chars:
        raise JsonLimitError("line_too_long", f"{len(text)} characters > {max_chars}")
    # the depth can only exceed the limit if there are more brackets than that
    if text.count("[") + text.count("{") > max_depth:
        depth = json_depth(text)
        if depth > max_depth:
            raise JsonLimitError("too_deep", f"brackets nest {depth} deep > {max_depth}")
    try:
        return json.loads(text)
    except ValueError as e:
        raise JsonLimitError("malformed_json", str(e)) from None
    except RecursionError:  # a limit above the interpreter's own recursion limit
        raise JsonLimitError("too_deep", "nested deeper than the JSON decoder can follow") from None
