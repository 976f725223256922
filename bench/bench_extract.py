"""Extraction benchmark: speed and quality of parse + extract against the extraction library
alone and its runners-up, on the same pages.

Run: ``.venv/bin/python bench/bench_extract.py`` (``make bench``); about half a minute on 2 cores.

Pages: the HTML responses of the sample crawl (``data/sample/crawl``, 51 pages, mostly Chinese,
with their known main text in ``data/sample/truth``) and 67 real pages from the WARC fixtures
(dolma, clueweb09 Japanese, Common Crawl; ``tests/fixtures/warc``). Every timing runs in this
process on the same decoded pages, and is printed as a ratio to the baseline: resiliparse's
``extract_plain_text(main_content=True)`` alone, the library ``corpus.extract.html`` chose.

1. Speed, pages/s: the baseline; ``ExtractHTML.extract`` (charset decoding, binary check, DOM,
   boilerplate and link-list rules, title, image references with context, main text);
   parse + extract straight from the WARC files (``iter_records`` then ``ExtractHTML``); and the
   runners-up: trafilatura 2.3 (``extract``), selectolax (all body text, no boilerplate removal).
   The WARC readers alone (fastwarc, warcio; records/s over the sample and fixture WARCs).
2. Quality on the sample, against the truth: recall (share of the article's text blocks found)
   and precision (share of output characters that belong to the article or its title); on the
   real pages, token overlap with trafilatura's output (recall, precision), trafilatura being
   the slowest and most careful of the four.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus.document import Page  # noqa: E402
from corpus.extract.html import ExtractHTML  # noqa: E402
from corpus.parse.charset import binary_reason, decode_html  # noqa: E402
from corpus.parse.counts import RecordCounts  # noqa: E402
from corpus.parse.warc import iter_records  # noqa: E402

SAMPLE = sorted((ROOT / "data" / "sample" / "crawl").iterdir())
REAL = [ROOT / "tests" / "fixtures" / "warc" / n for n in (
    "dolma_sample-0000.warc.gz", "dolma_sample-0001.warc.gz",
    "resiliparse_clueweb09-ja_quirk.warc.gz", "commoncrawl_whirlwind.warc.gz")]
TRUTH = {t["url"]: t for t in map(json.loads, (ROOT / "data" / "sample" / "truth" /
                                                "crawl_truth.jsonl").open(encoding="utf-8"))}
_TOKEN = re.compile(r"[A-Za-z0-9]+|[^\sA-Za-z0-9]")


def html_pages(paths: list[Path]) -> list[Page]:
    return [p for path in paths for p in iter_records(str(path))
            if isinstance(p, Page) and "html" in (p.content_type or "") and p.status == 200
            and p.body.strip() and not binary_reason(p.body)]


def timed(fn, items, min_seconds: float, rounds: int = 3) -> float:
    """Items/s of ``fn`` over ``items``: the best of ``rounds`` windows of ``min_seconds /
    rounds`` each (the machine is shared; the best window is the least disturbed one)."""
    best = 0.0
    for _ in range(rounds):
        n, start = 0, time.perf_counter()
        while True:
            for item in items:
                fn(item)
            n += len(items)
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds / rounds:
                break
        best = max(best, n / elapsed)
    return best


def resiliparse_alone(html: str) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(html, main_content=True, preserve_formatting=True,
                              list_bullets=False, alt_texts=False)


def trafilatura_alone(html: str) -> str:
    import trafilatura

    return trafilatura.extract(html, include_comments=False, include_tables=True,
                               deduplicate=False) or ""


def selectolax_alone(html: str) -> str:
    from selectolax.lexbor import LexborHTMLParser

    body = LexborHTMLParser(html).body
    return body.text(separator="\n", strip=True) if body is not None else ""


def stage_text(stage: ExtractHTML):
    def run(page: Page) -> str:
        out = stage.extract(page)
        return getattr(out, "text", "") or ""
    return run


def lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.split("\n") if ln.strip()]


def truth_scores(outputs: dict[str, str]) -> tuple[float, float]:
    rec = prec = 0.0
    for url, text in outputs.items():
        truth = TRUTH[url]
        blocks = [b for b in truth["blocks"] if b != truth["title"]]
        rec += sum(b in text for b in blocks) / len(blocks)
        allowed = "\n".join(truth["blocks"]) + "\n" + truth["title"]
        out = lines(text)
        total = sum(map(len, out)) or 1
        prec += sum(len(ln) for ln in out if ln in allowed) / total
    return rec / len(outputs), prec / len(outputs)


def overlap(ours: list[str], reference: list[str]) -> tuple[float, float]:
    rec = prec = 0.0
    n = 0
    for a, b in zip(ours, reference):
        ta, tb = Counter(_TOKEN.findall(a)), Counter(_TOKEN.findall(b))
        if not tb:
            continue
        inter = sum((ta & tb).values())
        rec += inter / sum(tb.values())
        prec += inter / max(1, sum(ta.values()))
        n += 1
    return rec / n, prec / n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=1.5, help="minimum time per measurement")
    args = ap.parse_args(argv)

    sample, real = html_pages(SAMPLE), html_pages(REAL)
    pages = sample + real
    decoded = [decode_html(p.body, p.http_charset).text for p in pages]
    stage = ExtractHTML()
    stage.setup()
    print(f"pages: {len(sample)} sample (of which {sum(p.url in TRUTH for p in sample)} with "
          f"truth) + {len(real)} real = {len(pages)}; {sum(len(p.body) for p in pages) / 1e6:.1f} MB")

    def parse_and_extract(path: Path) -> None:
        for rec in iter_records(str(path)):
            if isinstance(rec, Page) and not (rec.content_type or "").startswith("image/"):
                stage.extract(rec)

    def files_rate(files: list[Path], n_pages: int) -> float:
        return timed(parse_and_extract, files, args.seconds) * n_pages / len(files)

    print("\n1. Speed (pages/s; ratio to the baseline, resiliparse alone on the same pages)")
    sets = [("sample crawl", SAMPLE, sample, decoded[:len(sample)]),
            ("sample + real fixtures", SAMPLE + REAL, pages, decoded)]
    for set_name, files, set_pages, set_decoded in sets:
        print(f"  {set_name} ({len(set_pages)} pages)")
        base = timed(resiliparse_alone, set_decoded, args.seconds)
        rows = [("resiliparse main_content alone (baseline)", base),
                ("ExtractHTML.extract (decode+DOM+rules+images)",
                 timed(stage_text(stage), set_pages, args.seconds)),
                ("parse + extract from the WARC/ARC files", files_rate(files, len(set_pages)))]
        if set_name != "sample crawl":
            rows.append(("selectolax all text (runner-up, no boilerplate removal)",
                         timed(selectolax_alone, set_decoded, args.seconds)))
            rows.append(("trafilatura extract (runner-up)",
                         timed(trafilatura_alone, set_decoded, min(args.seconds, 0.5))))
        for name, rate in rows:
            print(f"    {name:56s} {rate:9.0f}  x{rate / base:6.2f}")
    files = SAMPLE + REAL

    print("\n   WARC readers alone (records/s, payload read in full; ratio to warcio)")
    from fastwarc.warc import ArchiveIterator as FastIterator
    from warcio.archiveiterator import ArchiveIterator as WarcioIterator

    warcs = [f for f in files if f.name.endswith(".warc.gz")]  # readable by all three

    def fastwarc_all(path: Path) -> int:
        with path.open("rb") as fh:
            return sum(1 for r in FastIterator(fh, parse_http=False) if r.reader.read() is not None)

    def warcio_all(path: Path) -> int:
        with path.open("rb") as fh:
            return sum(1 for r in WarcioIterator(fh) if r.content_stream().read() is not None)

    def ours_all(path: Path) -> int:
        counts = RecordCounts()
        for _ in iter_records(str(path), counts=counts):
            pass
        return counts.records

    rates = {}
    n_records = sum(ours_all(w) for w in warcs)
    for name, fn in (("warcio 1.8", warcio_all), ("fastwarc 2.0", fastwarc_all),
                     ("iter_records (fastwarc + HTTP decoding + damage checks)", ours_all)):
        rates[name] = timed(fn, warcs, args.seconds) * n_records / len(warcs)
    for name, rate in rates.items():
        print(f"  {name:58s} {rate:9.0f}  x{rate / rates['warcio 1.8']:6.2f}")

    print("\n2. Quality")
    truth_pages = [(p, d) for p, d in zip(sample, decoded) if p.url in TRUTH]
    real_decoded = decoded[len(sample):]
    reference = [trafilatura_alone(h) for h in real_decoded]
    print(f"  {'':42s} {'sample vs truth':>20s}   {'real vs trafilatura':>22s}")
    print(f"  {'':42s} {'recall':>9s} {'precision':>10s}   {'recall':>10s} {'precision':>10s}")
    candidates = [
        ("ExtractHTML (this project)", lambda p, h: stage_text(stage)(p)),
        ("resiliparse main_content alone", lambda p, h: resiliparse_alone(h)),
        ("trafilatura", lambda p, h: trafilatura_alone(h)),
        ("selectolax all text", lambda p, h: selectolax_alone(h)),
    ]
    for name, fn in candidates:
        r, pr = truth_scores({p.url: fn(p, h) for p, h in truth_pages})
        if name == "trafilatura":
            rr, rp = 1.0, 1.0
        else:
            rr, rp = overlap([fn(p, h) for p, h in zip(real, real_decoded)], reference)
        print(f"  {name:42s} {r:9.3f} {pr:10.3f}   {rr:10.3f} {rp:10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
