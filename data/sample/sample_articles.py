"""Read the hand-written articles in ``src/*.txt`` (see build_sample.py): ``@@ key``, ``# title``,
then paragraphs, ``## heading``, ``* item``, ``1. item`` and ``[style:image|alt|caption]`` lines."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

# --------------------------------------------------------------------------------------------
# Source articles
# --------------------------------------------------------------------------------------------


@dataclass
class Block:
    kind: str  # p | h2 | li | ol | img
    text: str
    img: tuple[str, str, str, str] | None = None  # (style, name, alt, caption)


@dataclass
class Article:
    key: str
    title: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def text_blocks(self) -> list[str]:
        return [b.text for b in self.blocks if b.kind != "img"]

    @property
    def paragraphs(self) -> list[str]:
        return [b.text for b in self.blocks if b.kind == "p"]


_IMG = re.compile(r"^\[(figure|img|picture|lazy):([\w]+)\|([^|]*)\|([^\]]*)\]$")


def parse_articles(path: Path) -> dict[str, Article]:
    """Read ``@@ key`` / ``# title`` / paragraphs; ``## h``, ``* li``, ``1. li``, ``[img...]``."""
    articles: dict[str, Article] = {}
    current: Article | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("@@ "):
            current = Article(key=line[3:].strip(), title="")
            articles[current.key] = current
        elif current is None:
            continue  # file header comments
        elif line.startswith("## "):
            current.blocks.append(Block("h2", line[3:].strip()))
        elif line.startswith("# "):
            current.title = line[2:].strip()
        elif line.startswith("* "):
            current.blocks.append(Block("li", line[2:].strip()))
        elif re.match(r"^\d+\. ", line):
            current.blocks.append(Block("ol", line.split(". ", 1)[1].strip()))
        elif (m := _IMG.match(line)) is not None:
            current.blocks.append(Block("img", "", m.groups()))
        else:
            current.blocks.append(Block("p", line))
    return articles
