"""Seconds per 10,000 pages of each per-document stage of ``m6 corpus`` (issue 17 point 2), and
their share of the whole.

Why: the end-to-end figure of ``bench/scale.py`` says how fast a run goes, not where its time
goes. Here the stages the pipeline runs on a crawl (read, extract, the five cleaning stages, the
quality filters with the sample's kenlm and fastText models) run in a plain Python loop over the
pages of a generated crawl (``bench/make_crawl.py``, cached under ``--work``), each stage timed
on its own, with the same per-record budget wrapper (``corpus.budget.BudgetedStage``) the Beam
adapter puts around it. The sum is the baseline the Beam pipeline is compared with: the same
crawl through ``m6 corpus --no-dedup`` on the in-process runner (a subprocess, so
the import and start-up cost are in it) gives what Beam and the writing of the shards add.

Two more rows (``chained``) run the stages after reading through the pipeline's own ``ChainDoFn``:
a record at a time through all of them, and ``CHAIN_BATCH`` records at a time, a stage at a time
(what the pipeline does). The same calls on the same records; the difference is what the CPU's
caches keep between one call and the next (``pipelines/stage_dofn.py``).

Run: ``.venv/bin/python bench/bench_stages.py`` (10,000 pages: about 10 s for the stages and 15 s
for the Beam run on one idle core; the crawl is built once, about 10 s). Dedup is not here:
``bench/bench_dedup.py`` measures it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.make_crawl import build  # noqa: E402
from corpus.budget import BudgetedStage  # noqa: E402
from corpus.clean import clean_stages  # noqa: E402
from corpus.config import CorpusConfig  # noqa: E402
from corpus.extract.html import ExtractHTML  # noqa: E402
from corpus.quality import quality_stages  # noqa: E402
from corpus.readers import ReadCrawlFile, is_html_page  # noqa: E402
from pipelines.stage_dofn import CHAIN_BATCH, ChainDoFn, StageDoFn  # noqa: E402
from schemas import RejectedRecord  # noqa: E402

MODELS = ROOT / "out" / "models"
PER = 10_000


def config() -> CorpusConfig:
    from schemas.config import apply_overrides

    return apply_overrides(CorpusConfig(), [
        f"quality.perplexity.model={MODELS / 'lm' / 'encyclopedia.char5.bin'}",
        f"quality.spam.model={MODELS / 'spam' / 'spam.bin'}"])


def _stages(cfg: CorpusConfig) -> list:
    """The per-document stages after reading, in the pipeline's order."""
    return [ExtractHTML(cfg.extract, cfg.budget), *clean_stages(cfg.clean),
            *quality_stages(cfg.quality)]


def time_stages(files: list[str], cfg: CorpusConfig
                ) -> tuple[list[tuple[str, float, int]], list[Any]]:
    """``([(stage, seconds, records out kept)], html pages)``: each stage over all records kept
    by the stages before it, read included."""
    reader = BudgetedStage(ReadCrawlFile(source=cfg.run.crawl_source, config=cfg.parse),
                           cfg.budget)
    t0 = time.perf_counter()
    records = [r for f in files for r in reader.process(f)]
    rows = [("read_crawl", time.perf_counter() - t0, len(records))]
    records = pages = [r for r in records if is_html_page(r)]
    for stage in _stages(cfg):
        budgeted = BudgetedStage(stage, cfg.budget)
        budgeted.setup()
        t0 = time.perf_counter()
        out = [o for r in records for o in budgeted.process(r)]
        secs = time.perf_counter() - t0
        budgeted.teardown()
        records = [o for o in out if not isinstance(o, RejectedRecord)]
        rows.append((stage.name, secs, len(records)))
    return rows, pages


def time_chain(pages: list[Any], cfg: CorpusConfig, batch: int) -> float:
    """Seconds for the pipeline's own ``ChainDoFn`` of all the stages after reading, run as one
    bundle of ``pages`` with ``batch`` records a batch (1: each record through all the stages
    before the next)."""
    chain = ChainDoFn([StageDoFn(s, cfg.budget) for s in _stages(cfg)], batch)
    chain.setup()
    chain.start_bundle()
    t0 = time.perf_counter()
    for page in pages:
        for _ in chain.process(page):
            pass
    for _ in chain.finish_bundle():
        pass
    secs = time.perf_counter() - t0
    chain.teardown()
    return secs


def beam_run(crawl: Path, cfg_args: list[str]) -> float:
    """Wall seconds of ``m6 corpus --no-dedup`` on ``crawl`` with one in-process worker."""
    with tempfile.TemporaryDirectory() as tmp:
        argv = [sys.executable, "-m", "m6.cli", "corpus", "--input", str(crawl), "--output",
                tmp + "/out", "--no-report", "--no-dedup", "--quiet", *cfg_args]
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                       stdout=subprocess.DEVNULL)
        return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench_stages.py", description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=PER)
    ap.add_argument("--work", type=Path, default=Path("/tmp/m6-bench-scale"))
    ap.add_argument("--no-beam", dest="beam", action="store_false",
                    help="skip the m6 corpus --no-dedup run (Beam's overhead)")
    args = ap.parse_args(argv)
    crawl = args.work / f"crawl-{args.pages}"
    build(crawl, args.pages)
    files = sorted(str(p) for p in crawl.glob("bench-*.warc.gz"))
    cfg = config()
    print(f"bench_stages: {args.pages:,} generated pages, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; seconds per {PER:,} pages")
    rows, html = time_stages(files, cfg)
    pages = len(html)
    total = sum(s for _, s, _ in rows)
    scale = PER / pages
    print(f"  {'stage':24s} {'s/10k':>7s} {'share':>6s} {'kept':>7s}")
    for name, secs, kept in rows:
        print(f"  {name:24s} {secs * scale:7.2f} {secs / total:6.1%} {kept:7,}")
    print(f"  {'all stages (plain loop)':24s} {total * scale:7.2f}  {pages / total:,.0f} pages/s")
    for batch in (1, CHAIN_BATCH):
        secs = time_chain(html, cfg, batch)
        print(f"  {f'chained, {batch} at a time':24s} {secs * scale:7.2f}  "
              f"{pages / secs:,.0f} pages/s")
    if args.beam:
        secs = beam_run(crawl, [
            "--set", f"quality.perplexity.model={MODELS / 'lm' / 'encyclopedia.char5.bin'}",
            "--set", f"quality.spam.model={MODELS / 'spam' / 'spam.bin'}"])
        print(f"  {'m6 corpus --no-dedup':24s} {secs * scale:7.2f}  {pages / secs:,.0f} pages/s;"
              f" Beam and writing add x{secs / total:.2f} over the plain loop")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
