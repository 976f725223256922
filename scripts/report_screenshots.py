"""Screenshots of an ``m6 report`` page for the README, taken in headless Chromium.

    .venv/bin/python scripts/report_screenshots.py out/corpus/report.html docs/images

Opens the page with ``tests.support.browser.load_page`` (the same browser and checks as the report's
test: it refuses a page that logged a console error or requested anything), takes the full-page
screenshot, and saves two views of it: ``report_corpus.png`` (the header, Table 1 and the length
and perplexity histograms) and ``report_pairs.png`` (the image-text grid and, when the page has
them, the training curves), each scaled to ``--width`` pixels.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from tests.support.browser import load_page  # noqa: E402
from tests.support.chromium import ensure_chromium  # noqa: E402

SECTIONS = ["header", "#table1", "#lengths", "#perplexity", "#pairs", "#training"]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("page", type=Path)
    ap.add_argument("out", type=Path, help="folder for report_corpus.png and report_pairs.png")
    ap.add_argument("--width", type=int, default=960, help="width of the saved images")
    ap.add_argument("--max-height", type=int, default=1500,
                    help="cut each view at this many page pixels")
    args = ap.parse_args(argv)
    result = load_page(args.page, chromium=ensure_chromium(), measure=SECTIONS)
    if result.errors or result.exceptions:
        print(f"the page logged errors: {result.errors} {result.exceptions}", file=sys.stderr)
        return 1
    if any(not (u == result.url or u.startswith("data:")) for u in result.requests):
        print(f"the page requested {result.requests}", file=sys.stderr)
        return 1
    rect = {s: (r[0] if r else None) for s, r in result.rects.items()}
    page = Image.open(io.BytesIO(result.screenshot)).convert("RGB")
    views = {"report_corpus.png": (0, rect["#perplexity"])}
    start = rect["#pairs"]
    end = rect["#training"] or start
    views["report_pairs.png"] = (int(start["y"]) - 8, end)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (top, last) in views.items():
        bottom = int(last["y"] + last["height"]) + 8
        bottom = min(bottom, top + args.max_height, page.height)
        view = page.crop((0, top, page.width, bottom))
        scale = args.width / view.width
        view = view.resize((args.width, round(view.height * scale)), Image.Resampling.LANCZOS)
        view.save(args.out / name, optimize=True)
        print(f"{args.out / name}: {view.width}x{view.height}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
