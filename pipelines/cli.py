"""``m6 corpus``: run the corpus pipeline on a Beam runner.

    m6 corpus --input data/sample --output out/corpus
    m6 corpus --input 'gs://bucket/crawl/*.warc.gz' --output gs://bucket/m6 \\
        --runner DataflowRunner --project P --region R --temp_location gs://bucket/tmp \\
        --setup_file ./pyproject.toml

Our own flags come first; every flag we do not know is passed untouched to Beam's
``PipelineOptions`` (Beam examples' ``parse_known_args``). Settings of the stages are changed with
``--set part.field=value`` or a JSON ``--config`` file (see ``corpus/config.py``); the resolved
configuration is written to ``<output>/config.json``.

Progress: one live line per stage on stderr (records in, kept, rejected, rate), from the
workers' reports on the runners that run here and from Beam's metrics on the others
(``pipelines/progress.py``); ``-q`` turns it off, ``--json-progress`` writes JSON lines.

Runners: ``DirectRunner`` runs on Beam's FnApiRunner (no Prism download attempt), in-process
with ``--workers 1``, in N worker processes with ``--workers N``; ``PortableRunner``
defaults to the embedded job server with the LOOPBACK environment; ``DaskRunner`` needs
``--dask_client_address`` or starts a local cluster on 127.0.0.1 for the run; ``DataflowRunner``,
``SparkRunner``, ``FlinkRunner`` take their own flags (README, "Running on a cluster"). Every
local path is made absolute before submission (``pipelines.submit_paths``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import apache_beam as beam

from corpus.batch_plan import BatchSpec, fits_one_batch, probe_bytes_per_record
from corpus.config import CorpusConfig, apply_overrides
from corpus.inputs import InputPlan, plan_inputs
from pipelines import corpus_pipeline
from pipelines.dask_local import local_dask_cluster
from pipelines.options import pipeline_runner_and_options
from pipelines.progress import (
    ProgressMonitor,
    choose_mode,
    logging_above,
    metric_counts,
    polled_counts,
    reporting_to,
    workers_can_report,
)
from pipelines.sink import start_run
from pipelines.spill import remove_spill
from pipelines.submit_paths import absolute, absolute_config, remote_path_warnings
from schemas.layout import STATS_FILE

log = logging.getLogger("m6.corpus")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="m6 corpus",
        description="Build the corpus: text, image_text and rejected Parquet shards, stats.json.",
        epilog="Every setting of every stage is a PART.FIELD of the config; --print-config shows "
               "them all with their defaults (and with --config/--set applied). Flags not listed "
               "here are passed to Beam (e.g. --project, --temp_location).",
    )
    ap.add_argument("--input", "-i", action="append", default=[],
                    help="file, folder or glob (local or fsspec URL); repeatable "
                         "(required, no default)")
    ap.add_argument("--output", "-o",
                    help="output folder (local or gs://, s3://) (required, no default)")
    ap.add_argument("--runner", default="DirectRunner", help="Beam runner (default: %(default)s)")
    ap.add_argument("--workers", type=int, default=1,
                    help="DirectRunner worker processes, 1 = in-process (default: %(default)s)")
    ap.add_argument("--config", type=Path,
                    help="JSON file with a CorpusConfig or part of one, e.g. an earlier run's "
                         "config.json (default: none, every setting at its default)")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="PART.FIELD=V",
                    help="change one setting after --config, e.g. --set dedup.threshold=0.7; "
                         "repeatable (default: none)")
    ap.add_argument("--dedup-against", action="append", default=[], metavar="OUTPUT",
                    help="earlier corpus output whose documents are dropped; repeatable; same as "
                         "--set run.dedup_against=A,B (default: none)")
    ap.add_argument("--no-dedup", action="store_true",
                    help="skip duplicate removal; same as --set dedup.enabled=false "
                         "(default: dedup on)")
    ap.add_argument("--no-quality", action="store_true",
                    help="skip the quality filters; same as --set quality.enabled=false "
                         "(default: quality filters on)")
    ap.add_argument("--no-images", action="store_true",
                    help="skip image-text pairs; same as --set images.enabled=false "
                         "(default: image-text pairs on)")
    ap.add_argument("--no-report", action="store_true",
                    help="do not write <output>/report.html, the HTML report of 'm6 report' "
                         "(default: the report is written)")
    ap.add_argument("--allow-address", action="append", default=[], metavar="ADDRESS_OR_CIDR",
                    help="let image downloads reach this non-public address or network "
                         "(e.g. 10.1.0.0/16, 127.0.0.1); repeatable; same as --set "
                         "fetch.allow_addresses=A,B (default: only public addresses)")
    ap.add_argument("--print-config", action="store_true",
                    help="print the resolved configuration as JSON and exit, building nothing "
                         "(default: off)")
    ap.add_argument("--quiet", "-q", action="store_true",
                    help="only warnings and the summary, no progress lines (default: progress "
                         "is shown)")
    ap.add_argument("--json-progress", action="store_true",
                    help="progress as one JSON object per stage and second on stderr "
                         "({\"event\": \"progress\", \"stage\", \"in\", \"kept\", "
                         "\"rejected\", \"rate_per_s\", \"elapsed_s\", \"final\"}) "
                         "(default: off)")
    return ap


def resolve_config(args: argparse.Namespace) -> CorpusConfig:
    """Defaults, then ``--config``, then ``--set``, then the shortcut flags."""
    cfg = (CorpusConfig.from_json(args.config.read_text(), where=str(args.config))
           if args.config else CorpusConfig())
    shortcuts = [f"{part}.enabled=false" for flag, part in (
        (args.no_dedup, "dedup"), (args.no_quality, "quality"), (args.no_images, "images"))
        if flag]
    cfg = apply_overrides(cfg, [*args.overrides, *shortcuts])
    if args.allow_address:  # added to what --config and --set opened
        cfg = dataclasses.replace(cfg, fetch=dataclasses.replace(cfg.fetch, allow_addresses=tuple(
            dict.fromkeys((*cfg.fetch.allow_addresses, *args.allow_address)))))
    if args.dedup_against:  # a tuple as given: a path may hold a comma
        cfg = dataclasses.replace(cfg, run=dataclasses.replace(
            cfg.run, dedup_against=tuple(args.dedup_against)))
    return cfg


def resolve_config_reporting_moves(args: argparse.Namespace) -> CorpusConfig:
    """``resolve_config``, with each moved setting's ``FutureWarning`` printed as one line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FutureWarning)
        cfg = resolve_config(args)
    for w in caught:
        print(f"m6 corpus: deprecated: {w.message}", file=sys.stderr)
    return cfg


def run(args: argparse.Namespace, beam_args: list[str]) -> dict:
    # workers may run in another directory: every local path is made absolute before submission
    cfg = absolute_config(resolve_config_reporting_moves(args))
    inputs = [absolute(i) for i in args.input]
    output = absolute(args.output.rstrip("/"))
    for warning in remote_path_warnings(inputs, output, cfg, args.runner, beam_args):
        log.warning("%s", warning)
    plan = plan_inputs(inputs)
    if not plan.files:
        raise SystemExit(f"m6 corpus: no crawl, dump or listing files under {args.input}")
    log.info("input: %s", plan.describe())
    if cfg.quality.enabled:
        from corpus.quality.lm_reference import model_fit_warning

        fit = model_fit_warning(cfg.quality.perplexity.model, plan.files)
        if fit:
            log.warning("%s", fit)
    with contextlib.ExitStack() as stack:
        local = workers_can_report(args.runner, beam_args)  # before a local cluster's address
        if args.runner == "DaskRunner" and not any(
                a.startswith("--dask_client_address") for a in beam_args):
            address = stack.enter_context(local_dask_cluster(args.workers))
            beam_args = [*beam_args, f"--dask_client_address={address}"]
        # the first runner is made here, so that bad runner flags fail before start_run
        runners = [pipeline_runner_and_options(args.runner, args.workers, beam_args)]
        _check_dedup_against(cfg.run.dedup_against, output)
        mode = choose_mode(args.quiet, args.json_progress, sys.stderr)

        def run_one(part: InputPlan, batch: BatchSpec | None = None) -> None:
            runner, options = (runners.pop() if runners else
                               pipeline_runner_and_options(args.runner, args.workers, beam_args))
            _run_pipeline(runner, options, cfg, part, output, batch, mode, local)

        start_run(output)
        t0 = time.time()
        summary = None
        per_record = (probe_bytes_per_record(plan, _readers(cfg)) if cfg.run.batch_records > 0
                      else 0.0)
        if fits_one_batch(plan, cfg.run.batch_records, per_record):
            run_one(plan)
            _remove_batch_work(output)  # of an earlier, killed run in batches
        else:
            from pipelines.batch_run import run_batches

            summary = run_batches(run_one, cfg, plan, output, per_record)
        elapsed = time.time() - t0
    return {"output": output, "elapsed_s": elapsed, "plan": plan, "batches": summary}


def _readers(cfg: CorpusConfig) -> dict[str, Any]:
    """The reading stages the batch size is measured with, as the pipeline configures them,
    within the same per-record budget."""
    from corpus.budget import BudgetedStage
    from corpus.readers import ReadCrawlFile, ReadDumpFile, ReadWetFile

    return {kind: BudgetedStage(stage, cfg.budget) for kind, stage in (
        ("crawl", ReadCrawlFile(config=cfg.parse, emit_counts=True)),
        ("wet", ReadWetFile(config=cfg.parse, emit_counts=True)),
        ("dumps", ReadDumpFile(config=cfg.dumps, emit_counts=True)))}


def _run_pipeline(runner, options, cfg: CorpusConfig, plan: InputPlan, output: str,
                  batch: BatchSpec | None, mode, local: bool) -> None:
    """Build and run one corpus pipeline (the whole input, or one batch of it) with its
    progress lines; dedup's spill folder is removed before and after it."""
    remove_spill(output)  # of a killed run
    try:
        _run_one_pipeline(runner, options, cfg, plan, output, batch, mode, local)
    finally:
        remove_spill(output)


def _run_one_pipeline(runner, options, cfg: CorpusConfig, plan: InputPlan, output: str,
                      batch: BatchSpec | None, mode, local: bool) -> None:
    monitor = ProgressMonitor(mode) if mode else None
    p = beam.Pipeline(runner=runner, options=options)
    with (reporting_to(monitor.address) if monitor and local
          else contextlib.nullcontext([])) as stages:
        corpus_pipeline.build(p, cfg, plan, output, batch)
    if monitor is not None:
        monitor.stages[:] = stages
        monitor.start()
    result = None
    with contextlib.ExitStack() as stack:
        try:
            if monitor is not None:
                stack.enter_context(logging_above(monitor))
            result = p.run()  # the in-process DirectRunner returns only when it is done
            if monitor is not None and not local:
                monitor.poll_metrics(lambda: polled_counts(result))
            result.wait_until_finish()
        finally:
            if monitor is not None:
                monitor.stop(_final_counts(result))


def _remove_batch_work(output: str) -> None:
    from apache_beam.io.filesystems import FileSystems

    from pipelines.batch_run import WORK_DIR

    work = FileSystems.join(output, WORK_DIR)
    if FileSystems.exists(work):
        FileSystems.delete([work])


def _final_counts(result) -> dict[str, tuple[int, int]] | None:
    """Kept and rejected per stage from Beam's committed metrics, where the runner has them."""
    if result is None:
        return None
    try:
        return metric_counts(result)
    except Exception:  # noqa: BLE001 - a runner without metrics keeps the workers' counts
        log.debug("no metrics from %s", type(result).__name__, exc_info=True)
        return None


def _check_dedup_against(paths: tuple[str, ...], output: str) -> None:
    """Refuse a bad ``--dedup-against`` before ``start_run`` marks the output incomplete: an
    earlier output that is incomplete, or the output folder this run replaces."""
    from pipelines.dedup_against import existing_shards

    for path in paths:
        if path.rstrip("/") == output:
            raise ValueError(f"--dedup-against {path} is the --output folder, whose shards this "
                             "run replaces; write the new run to another folder")
    if paths:
        existing_shards(paths)


def output_problem(output: str) -> str | None:
    """Why the local folder ``output`` cannot be written (one line), or None. Checked before the
    pipeline runs, touching nothing: a folder under a file or without write permission otherwise
    fails in the last step, as a Beam traceback, after all the work. Remote URLs are left to
    their filesystem."""
    import os

    from fsspec.core import url_to_fs
    from fsspec.implementations.local import LocalFileSystem

    fs, root = url_to_fs(output)
    if not isinstance(fs, LocalFileSystem):
        return None
    path = Path(root)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"cannot write there ({existing} is a file, not a folder)"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot write there (no write permission on {existing})"
    return None


def main(argv: list[str]) -> int:
    ap = parser()
    args, beam_args = ap.parse_known_args(argv)
    if args.print_config:
        try:
            print(resolve_config_reporting_moves(args).to_json())
        except (OSError, ValueError) as e:
            print(f"m6 corpus: {e}", file=sys.stderr)
            return 2
        return 0
    if not args.input or not args.output:
        ap.error("--input and --output are required")
    problem = output_problem(args.output)
    if problem:
        print(f"m6 corpus: --output {args.output}: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    for noisy in ("apache_beam", "distributed", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        info = run(args, beam_args)
    except (FileNotFoundError, ValueError) as e:
        print(f"m6 corpus: {e}", file=sys.stderr)
        return 2
    from apache_beam.io.filesystems import FileSystems

    from corpus.stats import format_table

    with FileSystems.open(FileSystems.join(info["output"], STATS_FILE)) as f:
        import json

        stats = json.loads(f.read().decode())
    print(format_table(stats))
    batches = info["batches"]
    in_batches = (f"; {batches.batches} batches, {batches.resumed} resumed, work folder at most "
                  f"{batches.work_bytes / 1e6:.0f} MB" if batches else "")
    print(f"\nwrote {info['output']} in {info['elapsed_s']:.1f} s "
          f"({info['plan'].describe()}{in_batches})")
    if not args.no_report:
        _report(info["output"])
    return 0


def _report(output: str) -> None:
    """Write ``<output>/report.html`` and say where. The corpus is already written and complete
    (its manifest is there), so no failure of the report, whatever it is, fails the run: it is a
    warning with the command that makes the report again."""
    from report.build import write_report

    try:
        written = write_report(output)
    except Exception as e:  # noqa: BLE001 - see the docstring
        log.debug("report failed", exc_info=True)
        print(f"m6 corpus: the corpus is complete, but its report was not written "
              f"({type(e).__name__}: {e}); try 'm6 report {output}'", file=sys.stderr)
        return
    print(f"report: {written.path} ({written.bytes / 1024:.0f} KB; open it in a browser; "
          "--no-report turns it off)")
