"""The paper's poem format (section 4.5) and reading poems from files, with no torch: what
``m6 poem --check`` needs, so a format check starts in a fraction of a second and runs where
the ``model`` extra is not installed. Generation under the same constraints is in
``model/apps/poem.py``, which imports this module.

The paper's constraints: "The poem shall be consisted of at least 4 lines. The total number of
lines shall be even. Each line must have exactly 5 or 7 words. All lines shall have the same
number of words", and generation stops at [EOS] "or the number of lines exceeds a limit of 16".
A *line* is a run of characters between punctuation marks (，。！？；： and their ASCII forms)
or line breaks; a *word* of classical Chinese verse is one character, and a line must hold only
Chinese characters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

MIN_LINES, MAX_LINES, LINE_CHARS = 4, 16, (5, 7)
_SEPARATORS = re.compile(r"[，。！？；：、,.!?;:\s]+")
CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
COMMA, FULL_STOP = "，", "。"


def poem_prompt(title: str, author: str | None = None) -> str:
    """The paper's prompt: ``见情郎 作者：唐 李白 正文：``."""
    title = title.strip()
    if not title:
        raise ValueError("a poem needs a title")
    if author and author.strip():
        return f"{title} 作者：{author.strip()} 正文："
    return f"{title} 正文："


def split_lines(text: str) -> list[str]:
    return [s for s in _SEPARATORS.split(text) if s]


@dataclass
class PoemCheck:
    ok: bool
    lines: list[str]
    reasons: list[str] = field(default_factory=list)

    @property
    def chars(self) -> int | None:
        lengths = {len(x) for x in self.lines}
        return lengths.pop() if len(lengths) == 1 else None


def check_poem(text: str, *, min_lines: int = MIN_LINES, max_lines: int = MAX_LINES,
               line_chars: tuple[int, ...] = LINE_CHARS) -> PoemCheck:
    """Whether ``text`` satisfies the paper's format constraints, with the reasons it does not."""
    lines = split_lines(text)
    reasons = []
    n = len(lines)
    if not n:
        return PoemCheck(False, lines, ["empty: no lines"])
    bad = [x for x in lines if len(CJK_CHAR.findall(x)) != len(x)]
    if bad:
        reasons.append(f"not_chinese: line {bad[0]!r} holds other characters")
    if n < min_lines:
        reasons.append(f"too_few_lines: {n} < {min_lines}")
    if n % 2:
        reasons.append(f"odd_line_count: {n}")
    if n > max_lines:
        reasons.append(f"too_many_lines: {n} > {max_lines}")
    lengths = sorted({len(x) for x in lines})
    off = [k for k in lengths if k not in line_chars]
    if off:
        reasons.append(f"line_length: lines of {off} characters (allowed {list(line_chars)})")
    if len(lengths) > 1:
        reasons.append(f"unequal_lines: lines of {lengths} characters")
    return PoemCheck(not reasons, lines, reasons)


# ---------------------------------------------------------------------- reading poems


@dataclass
class Poem:
    title: str
    text: str
    author: str = ""
    where: str = ""  # file and position, for reports


def read_poems(path: str | Path) -> list[Poem]:
    """Poems of a file: JSON in chinese-poetry's format (a list of objects with ``paragraphs``
    or ``content``), or text with poems separated by blank lines and ``#`` title lines (what
    ``m6 poem`` prints)."""
    path = Path(path)
    raw = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        data = json.loads(raw)
        if isinstance(data, dict):
            data = [data]
        poems = []
        for i, obj in enumerate(data):
            body = obj.get("paragraphs") or obj.get("content")
            if not isinstance(body, list):
                raise ValueError(f"{path}: poem {i} has no 'paragraphs' or 'content' list")
            poems.append(Poem(str(obj.get("title", "")), "\n".join(body),
                              str(obj.get("author", "")), f"{path.name}[{i}]"))
        return poems
    return list(_text_poems(raw, path.name))


def _text_poems(raw: str, name: str) -> Iterator[Poem]:
    title, body, start = "", [], 0
    for lineno, line in enumerate(raw.splitlines() + [""], 1):
        s = line.strip()
        if s.startswith("#"):
            title = s.lstrip("#").strip()
            start = start or lineno
        elif s:
            body.append(s)
            start = start or lineno
        elif body:
            yield Poem(title, "\n".join(body), "", f"{name}:{start}")
            title, body, start = "", [], 0
