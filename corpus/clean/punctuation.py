"""Collapse duplicate punctuation (paper section 2.3: "we first remove HTML markups and duplicate
punctuation marks").

Rules:

* a run of the same mark collapses to one mark: ``！！！`` -> ``！``, ``。。。`` -> ``。``,
  ``？？`` -> ``？``, ``，，`` -> ``，``, ``、、、`` -> ``、``, ``!!!`` -> ``!``, ``~~~`` -> ``~``,
  ``------`` -> ``-``;
* except where the doubled mark *is* the standard mark: the Chinese ellipsis ``……`` (two U+2026)
  and the Chinese dash ``——`` (two U+2014): any run of two or more becomes exactly two;
* a run of two or more ASCII dots becomes ``...``, the English ellipsis (``......`` and ``..``
  are how ellipses are typed on an ASCII keyboard); a single ``.`` is a full stop or a decimal
  point and is never touched;
* brackets and quotes are not collapsed (``((a))`` is not a duplicate), nor are runs of
  different marks (``？！``, ``!?``), nor marks separated by spaces.

This stage runs after ``KeepChineseEnglish``, so marks that become adjacent when an emoji between
them is dropped (``！😀！``) are collapsed too.
"""

from __future__ import annotations

import re
from typing import ClassVar

from corpus.clean.transform import TextTransform

# Marks whose repetition is a duplicate. Brackets and quotes are deliberately absent.
COLLAPSIBLE = "！？。，、；：～·!?,;:~*#=_-+/＿－＊＃＝＋／％&＆@＠"

_REPEAT = re.compile("([" + re.escape(COLLAPSIBLE) + r"])\1+")
_ELLIPSIS = re.compile("…{2,}")
_DASH = re.compile("—{2,}")
_DOTS = re.compile(r"\.{2,}")


def collapse_punctuation(text: str) -> str:
    """``text`` with each run of a repeated punctuation mark collapsed (see the rules above)."""
    text = _REPEAT.sub(r"\1", text)
    if "…" in text:
        text = _ELLIPSIS.sub("……", text)
    if "—" in text:
        text = _DASH.sub("——", text)
    if ".." in text:
        text = _DOTS.sub("...", text)
    return text


class CollapsePunctuation(TextTransform):
    """Stage: ``collapse_punctuation`` on the text and the title."""

    name: ClassVar[str] = "clean.punctuation"

    def transform(self, text: str) -> str:
        return collapse_punctuation(text)
