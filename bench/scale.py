"""Peak memory and throughput of ``m6 corpus`` against the size of the crawl (``make bench-scale``).

For each scale (pages) this builds a synthetic crawl with ``bench/make_crawl.py`` (cached under
``--work``), runs ``m6 corpus`` on it in a subprocess with the sample's quality models, and samples
the resident memory of the whole process tree (the runner's workers included) with psutil every
0.2 s. Printed per scale: pages, WARC MB, seconds, pages/s, pages/s per core, peak RSS of the tree
and KB per page, and kept/rejected counts from the run's ``stats.json``.

It is not part of ``make bench`` or CI: 1,000,000 pages take hours. ``SCALES`` (Makefile) or
``--scales`` picks the sizes; ``WORKERS``/``--workers`` and ``--runner`` are passed to ``m6 corpus``.
The issue's targets (peak RSS under 3 GB at 200,000 pages, under 4 GB at 1,000,000) are printed
beside the figures. Each run's log (``out-<pages>.log``) and RSS over time
(``out-<pages>.rss.tsv``: seconds, bytes, processes, a line a second) are left in ``--work``.
``--verify`` also prints Table 1's kept figures and the duplicates an in-memory dedup still finds
in the output (none, when batches deduplicate across each other); pass
``-- --set run.batch_records=0`` for the single-pipeline run to compare with.

``--stage-times`` runs each ``m6 corpus`` under ``bench/runner_stages.py`` and prints, after each
run, the seconds of each phase (per-document stages, dedup, images, writing) and the slowest of
the runner's fused stages: where a run's time goes, with one worker or several.

Speed against a baseline (issue 17.2): ``--baseline CHECKOUT --repeat N --workers 1,2`` runs the
baseline's ``m6 corpus`` and this one's in turn, N times for each worker count, on the same crawl,
and prints the medians: seconds, pages per CPU second (user + system of the whole process tree,
from ``getrusage``: the per-core rate, whatever the cores), this code's speed-up over the baseline
per worker count and its speed-up from one worker to more. Interleaved so that a machine that gets
busier or quieter meanwhile affects both alike; run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.make_crawl import build  # noqa: E402

TARGET_GB = {200_000: 3.0, 1_000_000: 4.0}  # issue 17.1


def tree_rss(proc: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants (those that vanish are skipped)."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def children_cpu() -> float:
    """CPU seconds (user + system) of every finished descendant of this process."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def log_of(output: Path) -> Path:
    """The stderr of the ``m6 corpus`` run that writes ``output``, beside it."""
    return output.parent / f"{output.name}.log"


def run_corpus(crawl: Path, output: Path, workers: int, runner: str, extra: list[str],
               code: Path = ROOT, stage_times: bool = False) -> tuple[float, int, int]:
    """(seconds, peak tree RSS in bytes, exit code) of one ``m6 corpus`` run. With
    ``stage_times`` it runs under ``bench/runner_stages.py`` (its table ends the log)."""
    if output.exists():
        shutil.rmtree(output)
    m6 = ([sys.executable, str(ROOT / "bench" / "runner_stages.py")] if stage_times
          else [sys.executable, "-m", "m6.cli"])
    models = ROOT / "out" / "models"
    argv = [*m6, "corpus", "--input", str(crawl), "--output", str(output),
            "--runner", runner, "--workers", str(workers), "--no-report",
            "--set", f"quality.perplexity.model={models / 'lm' / 'encyclopedia.char5.bin'}",
            "--set", f"quality.spam.model={models / 'spam' / 'spam.bin'}", *extra]
    env = dict(os.environ, PYTHONPATH=str(code))
    t = time.perf_counter()
    # stderr (progress lines, one block per batch) goes to a file: a pipe nobody reads fills up
    # and stalls the run
    log_path = log_of(output)
    with open(log_path, "wb") as log:
        # from inside ``code``: ``python -m`` puts the working directory first on sys.path
        proc = subprocess.Popen(argv, env=env, cwd=code, stdout=subprocess.DEVNULL, stderr=log)
        ps = psutil.Process(proc.pid)
        peak = 0
        # the tree's RSS over time beside the log, a line a second: where a peak comes from
        with open(output.parent / f"{output.name}.rss.tsv", "w") as rss_log:
            rss_log.write("seconds\trss_bytes\tprocesses\n")
            samples = 0
            while proc.poll() is None:
                rss = tree_rss(ps)
                peak = max(peak, rss)
                if samples % 5 == 0:
                    rss_log.write(f"{time.perf_counter() - t:.1f}\t{rss}\t"
                                  f"{1 + len(ps.children(recursive=True))}\n")
                    rss_log.flush()
                samples += 1
                time.sleep(0.2)
    secs = time.perf_counter() - t
    if proc.returncode:
        print(log_path.read_text("utf-8", "replace")[-2000:], file=sys.stderr)
    return secs, peak, proc.returncode


def stage_summary(output: Path, stages: int = 4) -> str:
    """The phases and the ``stages`` slowest stages from the log of a run with ``stage_times``."""
    log = log_of(output).read_text("utf-8", "replace")
    at = log.rfind("runner stages:")
    if at < 0:
        return "      (no runner stages: only the FnApiRunner is timed)"
    lines = log[at:].splitlines()
    phases = [ln for ln in lines[1:] if ln.lstrip().startswith("phase ")]
    slowest = [ln for ln in lines[1:] if not ln.lstrip().startswith("phase ")][:stages]
    return "\n".join("      " + ln.strip() for ln in [lines[0], *phases, *slowest])


def counts(output: Path) -> str:
    try:
        stats = json.loads((output / "stats.json").read_text())
    except (OSError, ValueError):
        return "no stats.json"
    flat = json.dumps(stats)
    return f"stats.json {len(flat):,} bytes" if not isinstance(stats, dict) else ", ".join(
        f"{k}={v}" for k, v in stats.items() if isinstance(v, (int, float)))[:200]


def table1(output: Path) -> dict:
    """Kept passages, tokens and chars of a run's ``stats.json`` (Table 1's figures)."""
    totals = json.loads((output / "stats.json").read_text())["totals"].get("text", {})
    return {k: totals.get(k, 0) for k in ("passages", "tokens", "chars")}


def surviving_duplicates(output: Path) -> dict[str, int]:
    """Duplicates left in a corpus: one in-memory dedup (``corpus.dedup.local``, the default
    settings) over all its kept documents, by reason; {} when none survive."""
    import pyarrow.parquet as pq

    from corpus.dedup.config import DedupConfig
    from corpus.dedup.local import dedup_text
    from corpus.document import Document

    docs = []
    for entry in json.loads((output / "manifest.json").read_text())["files"]["text"]:
        for r in pq.read_table(output / entry["path"],
                               columns=["id", "source", "url", "text"]).to_pylist():
            docs.append(Document(id=r["id"], source=r["source"], text=r["text"], url=r["url"]))
    _, rejected = dedup_text(docs, DedupConfig())
    out: dict[str, int] = {}
    for r in rejected:
        out[r.reason] = out.get(r.reason, 0) + 1
    return out


def compare(args, n: int) -> None:
    """Interleaved runs of ``args.baseline`` and ``args.code`` on the crawl of ``n`` pages, and
    their medians (module docstring)."""
    crawl = args.work / f"crawl-{n}"
    build(crawl, n, args.seed)
    codes = {"baseline": args.baseline.resolve(), "this": args.code.resolve()}
    runs: dict[tuple[str, int], list[tuple[float, float]]] = {}
    print(f"{'run':>4} {'code':>9} {'workers':>7} {'s':>8} {'CPU s':>8} {'pages/CPU s':>12}")
    for i in range(args.repeat):
        for workers in args.workers:
            for name, code in codes.items():
                out = args.work / f"out-{n}-{name}"
                cpu0 = children_cpu()
                secs, _, rc = run_corpus(crawl, out, workers, args.runner, args.corpus_args, code,
                                         args.stage_times)
                cpu = children_cpu() - cpu0
                if rc:
                    raise SystemExit(f"m6 corpus of {code} exited {rc}")
                runs.setdefault((name, workers), []).append((secs, cpu))
                print(f"{i + 1:>4} {name:>9} {workers:>7} {secs:8.1f} {cpu:8.1f} {n / cpu:12.0f}",
                      flush=True)
                if args.stage_times:
                    print(stage_summary(out), flush=True)
                shutil.rmtree(out, ignore_errors=True)

    def med(name: str, workers: int, k: int) -> float:
        return statistics.median(r[k] for r in runs[(name, workers)])

    print(f"medians of {args.repeat} interleaved runs, {n:,} pages:")
    for workers in args.workers:
        b, t = med("baseline", workers, 0), med("this", workers, 0)
        bc, tc = med("baseline", workers, 1), med("this", workers, 1)
        print(f"  workers={workers}: baseline {b:.1f} s ({n / bc:.0f} pages/CPU s), this "
              f"{t:.1f} s ({n / tc:.0f} pages/CPU s): {b / t:.2f}x the pages/s, "
              f"{bc / tc:.2f}x the pages per CPU second")
    one = args.workers[0]
    for workers in args.workers[1:]:
        for name in codes:
            print(f"  {name}: workers={workers} {med(name, one, 0) / med(name, workers, 0):.2f}x "
                  f"the pages/s of workers={one}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scale.py", description=__doc__.split("\n")[0])
    ap.add_argument("--scales", default="50000,200000,1000000",
                    help="pages per run, comma- or space-separated (default: %(default)s)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/m6-bench-scale"),
                    help="crawls and outputs go here; crawls are reused (default: %(default)s)")
    ap.add_argument("--workers", default="1",
                    help="worker counts, comma-separated; more than one only with --baseline")
    ap.add_argument("--runner", default="DirectRunner")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--code", type=Path, default=ROOT,
                    help="checkout whose m6 runs (e.g. an older commit, as the baseline)")
    ap.add_argument("--baseline", type=Path,
                    help="checkout to compare speed with, in interleaved runs (docstring)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each with --baseline")
    ap.add_argument("--keep-output", action="store_true", help="keep each run's corpus")
    ap.add_argument("--verify", action="store_true",
                    help="after each run print Table 1's kept passages, tokens and chars and the "
                         "duplicates an in-memory dedup still finds in the corpus (should be none)")
    ap.add_argument("--stage-times", action="store_true",
                    help="run m6 corpus under bench/runner_stages.py and print the seconds of "
                         "each phase (per-document stages, dedup, images, writing) and the "
                         "slowest of the runner's fused stages")
    ap.add_argument("corpus_args", nargs="*", help="more arguments for m6 corpus (after --)")
    args = ap.parse_args(argv)
    scales = [int(s) for s in args.scales.replace(",", " ").split()]
    args.workers = [int(w) for w in str(args.workers).replace(",", " ").split()]
    if args.baseline is not None:
        for n in scales:
            compare(args, n)
        return 0
    if len(args.workers) > 1:
        ap.error("several worker counts need --baseline")
    args.workers = args.workers[0]
    cores = psutil.cpu_count() or 1
    print(f"bench-scale: m6 corpus of {args.code.resolve()}, {args.runner}, workers={args.workers}, {cores} cores; "
          "peak RSS of the whole process tree (psutil)")
    print(f"{'pages':>10} {'WARC MB':>8} {'s':>8} {'pages/s':>8} {'/core':>7} {'peak GB':>8}"
          f" {'KB/page':>8}  target")
    for n in scales:
        crawl = args.work / f"crawl-{n}"
        meta = build(crawl, n, args.seed)
        out = args.work / f"out-{n}"
        secs, peak, rc = run_corpus(crawl, out, args.workers, args.runner, args.corpus_args,
                                   args.code.resolve(), args.stage_times)
        target = TARGET_GB.get(n)
        verdict = "" if target is None else (
            f"< {target:.0f} GB: {'holds' if peak < target * 1e9 else 'FAILS'}")
        if rc:
            verdict = f"m6 corpus exited {rc}"
        print(f"{n:>10,} {meta['warc_bytes'] / 1e6:8.1f} {secs:8.1f} {n / secs:8.0f}"
              f" {n / secs / min(cores, max(1, args.workers)):7.0f} {peak / 1e9:8.2f}"
              f" {peak / 1024 / n:8.1f}  {verdict}", flush=True)
        if args.stage_times and not rc:
            print(stage_summary(out), flush=True)
        if args.verify and not rc:
            print(f"{'':>10} Table 1: {table1(out)}; duplicates left: "
                  f"{surviving_duplicates(out) or 'none'}", flush=True)
        if not args.keep_output and out.exists():
            shutil.rmtree(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
