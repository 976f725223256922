"""Remove HTML markup left in text (paper section 2.3: "we first remove HTML markups").

Extracted web pages carry no tags, but plain-text dumps (encyclopedia, QA, forum exports) often
do: ``<br/>``, ``<p>``, ``<a href=...>``, entities (``&nbsp;``, ``&amp;``, ``&#20013;``), comments
and inline ``<script>``/``<style>`` blocks, sometimes escaped twice (``&lt;p&gt;``). Forum exports
also carry BBCode (``[b]``, ``[quote]``, ``[url=...]``, ``[img]...[/img]``), markup of the same
kind, removed here too.

Rules, in order:

1. comments, ``<!DOCTYPE>``, ``<![CDATA[`` markers and whole ``script``/``style``/``noscript``/
   ``template`` elements are deleted with their content;
2. block tags (``p``, ``div``, ``br``, ``li``, ``tr``, ``h1``-``h6``, ...) become a newline, so
   paragraphs stay apart; every other tag is deleted and its text kept;
3. entities are decoded (``html.unescape``); if that produced tags (double escaping), 1-2 run once
   more;
4. BBCode tags are deleted (text kept), ``[img]...[/img]`` with its URL.

A tag must look like one: ``<`` then an ASCII letter, a name and well-formed attributes, so
"如果 a<b 且 c>d" is left alone. Whitespace and everything else is the character stage's job.
"""

from __future__ import annotations

import html
import re
from typing import ClassVar

from corpus.clean.transform import TextTransform

_DROP_BLOCKS = re.compile(
    r"<!--.*?(?:-->|\Z)"  # an unterminated comment runs to the end
    r"|<!DOCTYPE[^>]*>"
    r"|<!\[CDATA\[|\]\]>"
    # [^<>]*, not [^>]*: "<script" repeated without any ">" made every start scan to the end
    # of the text (quadratic: 20,000 of them took 1.6 s); stopping at the next "<" is linear
    r"|<(script|style|noscript|template)\b[^<>]*>.*?(?:</\1\s*>|\Z)",
    re.IGNORECASE | re.DOTALL,
)
_ATTRS = r"""(?:\s+[A-Za-z_:@][-\w:.@]*(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'<>=`]+))?)*\s*/?"""
_BLOCK_TAG = re.compile(
    r"</?(?:p|div|br|hr|li|ul|ol|dl|dt|dd|tr|td|th|table|thead|tbody|h[1-6]|section|article"
    r"|header|footer|nav|aside|blockquote|pre|figure|figcaption|form|main)\b" + _ATTRS + ">",
    re.IGNORECASE,
)
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*" + _ATTRS + ">")
_BBCODE_IMG = re.compile(r"\[img(?:=[^\]]*)?\].*?\[/img\]", re.IGNORECASE | re.DOTALL)
_BBCODE_IMG_END = re.compile(r"\[/img\]", re.IGNORECASE)
_BBCODE = re.compile(
    r"\[/?(?:b|i|u|s|quote|code|color|size|font|url|email|align|center|left|right|list|\*"
    r"|table|tr|td|img|attach|hide|media|flash|strike|sup|sub|backcolor|indent|float)"
    r"(?:=[^\]\n]*)?\]",
    re.IGNORECASE,
)


def _strip_tags(text: str) -> str:
    text = _DROP_BLOCKS.sub("", text)
    text = _BLOCK_TAG.sub("\n", text)
    return _TAG.sub("", text)


def _strip_bbcode_images(text: str) -> str:
    """``[img]...[/img]`` blocks removed. Only the text up to the last ``[/img]`` can hold one:
    the rest is left out of the search, so an ``[img]`` without an end is not scanned to the end
    of the text once per ``[img]`` (quadratic: 20,000 of them took 7 s); same result, linear."""
    end = max((m.end() for m in _BBCODE_IMG_END.finditer(text)), default=0)
    if not end:
        return text
    return _BBCODE_IMG.sub("", text[:end]) + text[end:]


def strip_markup(text: str) -> str:
    """``text`` without HTML tags, comments, script/style blocks, entities and BBCode."""
    if "<" in text:
        text = _strip_tags(text)
    if "&" in text:
        text = html.unescape(text)
        if "<" in text:  # it was escaped markup: "&lt;p&gt;"
            text = _strip_tags(text)
    if "[" in text:
        text = _BBCODE.sub("", _strip_bbcode_images(text))
    return text


class StripMarkup(TextTransform):
    """Stage: ``strip_markup`` on the text and the title."""

    name: ClassVar[str] = "clean.markup"

    def transform(self, text: str) -> str:
        return strip_markup(text)
