"""``m6 report OUTPUT_DIR [--out report.html] [--run RUN_DIR]``: the corpus (and training) report.

Reads the shards, ``stats.json`` and ``config.json`` of a ``m6 corpus`` output folder (streaming:
a many-GB corpus is never loaded whole) and writes one self-contained HTML page: Table 1, length
and perplexity histograms with the thresholds, rejected records by stage and reason with
examples, duplicate clusters, image size and quality, a grid of sample image-text pairs, and with
``--run`` the training curves of a ``m6 pretrain`` output folder.
"""

from __future__ import annotations

import argparse
import logging
import sys

from corpus.inspect.files import InspectError
from report.build import write_report
from report.training import RunError
from schemas.layout import REPORT_FILE


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="m6 report",
        description=__doc__.split("\n\n")[1].replace("\n", " ").replace("``", "'"))
    p.add_argument("corpus", metavar="OUTPUT_DIR",
                   help="the --output folder of 'm6 corpus' (local or fsspec URL)")
    p.add_argument("--out", help=f"where to write the page (default OUTPUT_DIR/{REPORT_FILE})")
    p.add_argument("--run", metavar="RUN_DIR",
                   help="a 'm6 pretrain' --output folder: adds the training curves")
    p.add_argument("--samples", type=int, default=24,
                   help="image-text pairs shown in the grid (default 24)")
    p.add_argument("--allow-incomplete", action="store_true",
                   help="report on a corpus folder without a complete manifest.json (a run still "
                        "going or killed) from the Parquet files that are there; the page says so")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(message)s", force=True)
    if args.samples < 0:
        print("m6 report: --samples must be 0 or more", file=sys.stderr)
        return 2
    try:
        w = write_report(args.corpus, args.out, args.run, samples=args.samples,
                         allow_incomplete=args.allow_incomplete)
    except (InspectError, RunError) as e:
        print(f"m6 report: {e}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"report: {w.path} ({w.bytes / 1024:.0f} KB, {w.seconds:.2f} s)")
    return 0
