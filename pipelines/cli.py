"""``m6 corpus``: run the corpus pipeline on a Beam runner.

    m6 corpus --input data/sample --output out/corpus
    m6 corpus --input 'gs://bucket/crawl/*.warc.gz' --output gs://bucket/m6 \\
        --runner DataflowRunner --project P --region R --temp_location gs://bucket/tmp \\
        --setup_file ./pyproject.toml

Our own flags come first; every flag we do not know is passed untouched to Beam's
``PipelineOptions`` (Beam examples' ``parse_known_args``). Settings of the stages are changed with
``--set part.field=value`` or a JSON ``--config`` file (see ``corpus/config.py``); the resolved
configuration is written to ``<output>/config.json``.

Runners: ``DirectRunner`` with ``--workers 1`` runs in-process on Beam's FnApiRunner (no Prism
download attempt); ``--workers N`` uses the multi-processing DirectRunner; ``PortableRunner``
defaults to the embedded job server with the LOOPBACK environment; ``DaskRunner`` needs
``--dask_client_address`` or starts a local cluster on 127.0.0.1 for the run; ``DataflowRunner``,
``SparkRunner``, ``FlinkRunner`` take their own flags (README, "Running at scale").
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from pathlib import Path

import apache_beam as beam

from corpus.config import CorpusConfig, apply_overrides
from corpus.inputs import plan_inputs
from pipelines import corpus_pipeline
from pipelines.dask_local import local_dask_cluster
from pipelines.options import pipeline_runner_and_options
from pipelines.sink import STATS, start_run

log = logging.getLogger("m6.corpus")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="m6 corpus",
        description="Build the corpus: text, image_text and rejected Parquet shards, stats.json.",
        epilog="Flags not listed here are passed to Beam (e.g. --project, --temp_location).",
    )
    ap.add_argument("--input", "-i", action="append", required=True,
                    help="file, folder or glob (local or fsspec URL); repeatable")
    ap.add_argument("--output", "-o", required=True, help="output folder (local or gs://, s3://)")
    ap.add_argument("--runner", default="DirectRunner", help="Beam runner (default DirectRunner)")
    ap.add_argument("--workers", type=int, default=1,
                    help="DirectRunner worker processes (1 = in-process)")
    ap.add_argument("--config", type=Path, help="JSON file with a CorpusConfig (or part of one)")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="PART.FIELD=V",
                    help="change one setting, e.g. --set dedup.threshold=0.7; repeatable")
    ap.add_argument("--dedup-against", action="append", default=[], metavar="OUTPUT",
                    help="earlier corpus output: documents already there are dropped")
    ap.add_argument("--no-dedup", action="store_true", help="skip duplicate removal")
    ap.add_argument("--no-quality", action="store_true", help="skip the quality filters")
    ap.add_argument("--no-images", action="store_true", help="skip image-text pairs")
    ap.add_argument("--no-report", action="store_true",
                    help="do not write <output>/report.html (the HTML report, 'm6 report')")
    ap.add_argument("--allow-address", action="append", default=[], metavar="ADDRESS_OR_CIDR",
                    help="let image downloads reach this non-public address or network "
                         "(e.g. 10.1.0.0/16, 127.0.0.1); repeatable. Without it, URLs found in "
                         "data may only reach public addresses")
    ap.add_argument("--quiet", "-q", action="store_true", help="only warnings and the summary")
    return ap


def resolve_config(args: argparse.Namespace) -> CorpusConfig:
    cfg = (CorpusConfig.from_json(args.config.read_text()) if args.config else CorpusConfig())
    cfg = apply_overrides(cfg, args.overrides)
    if args.allow_address:
        cfg = apply_overrides(cfg, ["fetch.allow_addresses=" + ",".join(
            dict.fromkeys((*cfg.fetch.allow_addresses, *args.allow_address)))])
    run = {}
    if args.dedup_against:
        run["dedup_against"] = tuple(args.dedup_against)
    if args.no_dedup:
        run["dedup"] = False
    if args.no_quality:
        run["quality"] = False
    if args.no_images:
        run["images"] = False
    return corpus_pipeline.resolved(cfg, **run) if run else cfg


def run(args: argparse.Namespace, beam_args: list[str]) -> dict:
    cfg = resolve_config(args)
    plan = plan_inputs(args.input)
    if not plan.files:
        raise SystemExit(f"m6 corpus: no crawl, dump or listing files under {args.input}")
    log.info("input: %s", plan.describe())
    output = args.output.rstrip("/")
    with contextlib.ExitStack() as stack:
        if args.runner == "DaskRunner" and not any(
                a.startswith("--dask_client_address") for a in beam_args):
            address = stack.enter_context(local_dask_cluster(args.workers))
            beam_args = [*beam_args, f"--dask_client_address={address}"]
        runner, options = pipeline_runner_and_options(args.runner, args.workers, beam_args)
        start_run(output)
        t0 = time.time()
        p = beam.Pipeline(runner=runner, options=options)
        corpus_pipeline.build(p, cfg, plan, output)
        result = p.run()
        result.wait_until_finish()
        elapsed = time.time() - t0
    return {"output": output, "elapsed_s": elapsed, "plan": plan}


def main(argv: list[str]) -> int:
    args, beam_args = parser().parse_known_args(argv)
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

    with FileSystems.open(FileSystems.join(info["output"], STATS)) as f:
        import json

        stats = json.loads(f.read().decode())
    print(format_table(stats))
    print(f"\nwrote {info['output']} in {info['elapsed_s']:.1f} s "
          f"({info['plan'].describe()})")
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
