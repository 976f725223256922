"""What the paper's corpus would cost: core-hours and shuffle bytes, from rates measured here
(issue 17 point 5), so a user can size a cluster.

Run: ``.venv/bin/python bench/bench_cost.py [--input DIR ...]`` (``make bench``); about a minute
on 2 cores with the sample.

The whole corpus pipeline (``pipelines.corpus_pipeline.build``, the default config, the sample's
quality models when ``make quality-models`` built them) runs on the in-process runner (Beam's
FnApiRunner: one Python process, so one core) over the sample, or over ``--input`` (e.g. a crawl
generated for ``make bench-scale``), three times:

- a tiny input (one dump line): the fixed cost of a run (pipeline construction, runner start-up,
  finalising shards), taken off the others, because a cluster pays it once, not per sample;
- the input: input records, kept passages (``text`` rows), kept images (``image_text`` rows);
- the input with ``--no-images``: the text path alone; the images' cost is the difference.

From these: core-seconds per kept passage and per kept image, hence core-hours for the paper's
corpus (M6, Table 1: about 300 million text passages and 60 million images), and the bytes that
cross the shuffles per input document. Every ``GroupByKey`` of the pipeline (its own, and those
inside ``Reshuffle`` and ``CombinePerKey``) is replaced by the same ``GroupByKey`` preceded by a
step that encodes each element with the coder Beam picks for that ``PCollection`` and adds its
size to a Beam counter: the bytes a distributed runner would write to its shuffle (before its
own compression).

Caveats, printed with the figures: the sample is small and clean next to a crawl (a crawl keeps
fewer pages per input record, so its cost per kept passage is higher: pass ``--input``); the
machine is shared (the load average is printed), so rates move by tens of percent between runs;
core-hours assume the per-core rate holds on every core (``bench_corpus.py`` measures 2 workers).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import apache_beam as beam  # noqa: E402
from apache_beam.metrics import Metrics  # noqa: E402
from apache_beam.metrics.metric import MetricsFilter  # noqa: E402
from apache_beam.pipeline import PTransformOverride  # noqa: E402
from apache_beam.runners.portability.fn_api_runner import FnApiRunner  # noqa: E402

from corpus.config import CorpusConfig, apply_overrides  # noqa: E402
from corpus.inputs import plan_inputs  # noqa: E402
from pipelines import corpus_pipeline  # noqa: E402
from pipelines.sink import start_run  # noqa: E402

SAMPLE = ROOT / "data" / "sample"
MODELS = {"quality.perplexity.model": ROOT / "out/models/lm/encyclopedia.char5.bin",
          "quality.spam.model": ROOT / "out/models/spam/spam.bin"}
PAPER_PASSAGES = 300e6  # M6 (Lin et al., 2021), Table 1: text passages of the corpus
PAPER_IMAGES = 60e6  # M6, Table 1: images


class _PlainGroupByKey(beam.GroupByKey):
    """Beam's GroupByKey under another class name, so ``_MeasureShuffles`` does not match it
    again (it translates to the same runner primitive)."""


class _MeasuredGroupByKey(beam.PTransform):
    """The replacement: a byte-counting step, then the GroupByKey."""

    def expand(self, pcoll):
        coder = beam.coders.registry.get_coder(pcoll.element_type)
        counted = Metrics.counter("shuffle", "bytes")
        elements = Metrics.counter("shuffle", "elements")

        def measure(kv):
            counted.inc(len(coder.encode(kv)))
            elements.inc()
            return kv

        measured = pcoll | "MeasureShuffle" >> beam.Map(measure).with_output_types(
            pcoll.element_type)
        return measured | "Shuffle" >> _PlainGroupByKey()


class _MeasureShuffles(PTransformOverride):
    def matches(self, applied_ptransform) -> bool:
        return type(applied_ptransform.transform) is beam.GroupByKey

    def get_replacement_transform_for_applied_ptransform(self, applied_ptransform):
        return _MeasuredGroupByKey()


def cpu_seconds() -> float:
    """CPU seconds of this process and all its children so far: the per-record budget's helper
    processes (corpus/budget.py) do the parsing and extraction. Reaped children count through
    ``RUSAGE_CHILDREN``, live ones through psutil; a child alive at the start and reaped before
    the end is counted once in the difference."""
    import resource

    import psutil

    me = psutil.Process()
    own = sum(me.cpu_times()[:2])
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    live = 0.0
    for child in me.children(recursive=True):
        try:
            live += sum(child.cpu_times()[:2])
        except psutil.Error:  # exited meanwhile: counted by RUSAGE_CHILDREN once reaped
            continue
    return own + reaped.ru_utime + reaped.ru_stime + live


def run(inputs: list[str], out: Path, cfg: CorpusConfig) -> dict:
    """One corpus run on the in-process runner; seconds, rows by kind, shuffle bytes."""
    plan = plan_inputs(inputs)
    start_run(str(out))
    t0, c0 = time.perf_counter(), cpu_seconds()
    p = beam.Pipeline(runner=FnApiRunner())
    corpus_pipeline.build(p, cfg, plan, str(out))
    p.replace_all([_MeasureShuffles()])
    result = p.run()
    result.wait_until_finish()
    # CPU seconds of this process and its helpers: core-seconds, and unlike wall time not
    # inflated by other jobs on a shared machine
    cpu, elapsed = cpu_seconds() - c0, time.perf_counter() - t0

    found = result.metrics().query(MetricsFilter().with_namespace("shuffle"))["counters"]

    def counter(name: str) -> int:
        return sum(c.committed for c in found if c.key.metric.name == name)

    by_step: dict[str, int] = {}
    for c in found:
        if c.key.metric.name == "bytes":  # by the pipeline's top-level step
            top = c.key.step.split("/", 1)[0]
            by_step[top] = by_step.get(top, 0) + c.committed

    manifest = json.loads((out / "manifest.json").read_text())
    rows = {kind: sum(f["rows"] for f in files) for kind, files in manifest["files"].items()}
    return {"s": cpu, "wall_s": elapsed, "rows": rows, "shuffle_bytes": counter("bytes"),
            "shuffle_elements": counter("elements"), "by_step": by_step}


def _replicate(inputs: list[str], dest: Path, copies: int) -> list[str]:
    """``copies`` symlinks to every input file, under ``dest/c<i>/<folder>/``; a listing's
    ``images/`` folder is copied beside it (an image must lie inside the listing's folder:
    corpus/images/confine.py)."""
    files = [Path(f) for f in plan_inputs(inputs).files]
    for i in range(copies):
        for src in files:
            folder = dest / f"c{i}" / src.parent.name
            if not folder.exists():
                folder.mkdir(parents=True)
                if (src.parent / "images").is_dir():
                    shutil.copytree(src.parent / "images", folder / "images")
            (folder / src.name).symlink_to(src.resolve())
    return [str(dest)]


def _rows(r: dict) -> int:
    return sum(r["rows"].values())


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", action="append", default=[],
                    help="input folder or glob (default: the sample's crawl, dumps, ecommerce)")
    ap.add_argument("--copies", type=int, default=8,
                    help="the input is also run this many times over, to take the fixed cost of "
                         "a run off (default: %(default)s)")
    args = ap.parse_args(argv)
    inputs = args.input or [str(SAMPLE / p) for p in ("crawl", "dumps", "ecommerce")]
    sets = [f"{k}={v}" for k, v in MODELS.items() if v.exists()]
    cfg = apply_overrides(CorpusConfig(), sets)
    text_cfg = apply_overrides(cfg, ["images.enabled=false"])
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; quality models: "
          f"{'the sample models' if sets else 'none (make quality-models builds them)'}")
    print(f"input: {plan_inputs(inputs).describe()}, and {args.copies} copies of it (symlinks)")
    with tempfile.TemporaryDirectory(prefix="m6-bench-cost-") as tmp_s:
        tmp = Path(tmp_s)
        many = _replicate(inputs, tmp / "copies", args.copies)
        run(inputs, tmp / "warmup", text_cfg)  # imports and models load once in this process
        one, one_text = run(inputs, tmp / "one", cfg), run(inputs, tmp / "one-text", text_cfg)
        big, big_text = run(many, tmp / "big", cfg), run(many, tmp / "big-text", text_cfg)

    # Marginal core-seconds per input row (the fixed cost of a run taken off), with the copies'
    # rows: a copy goes through reading, extraction, cleaning and quality like new text and is
    # dropped by dedup, as a crawl's mirrors are.
    def marginal(a: dict, b: dict) -> float:
        return max(b["s"] - a["s"], 1e-9) / max(_rows(b) - _rows(a), 1)

    per_row, per_row_text = marginal(one, big), marginal(one_text, big_text)
    fixed = one["s"] - _rows(one) * per_row
    passages, images, rows = one["rows"]["text"], one["rows"]["image_text"], _rows(one)
    text_rows = _rows(one_text)
    # the images' share: rows the text-only run does not read, at the whole run's rate, plus
    # what the image path adds to every row
    per_passage = per_row_text * text_rows / passages if passages else float("nan")
    image_s = max(per_row * rows - per_row_text * text_rows, 0.0)
    per_image = image_s / images if images else 0.0
    print(f"\nin-process FnApiRunner, CPU seconds of the process and its helpers, the input once: {one['s']:.1f} s (wall {one['wall_s']:.1f} s) for {rows} rows "
          f"({passages} passages and {images} images kept, {one['rows']['rejected']} rejected); "
          f"x{args.copies}: {big['s']:.1f} s (wall {big['wall_s']:.1f} s) for {_rows(big)} rows")
    print(f"  without the fixed cost of a run (~{fixed:.1f} s): {1 / per_row:,.0f} rows/s; text "
          f"path alone {1 / per_row_text:,.0f} rows/s")
    hours_text = PAPER_PASSAGES * per_passage / 3600
    hours_img = PAPER_IMAGES * per_image / 3600
    total = hours_text + hours_img
    print("\nThe paper's corpus (M6 Table 1: ~300M text passages, ~60M images), at this input's "
          "keep rate:")
    print(f"  text   {hours_text:12,.0f} core-hours ({per_passage * 1e3:6.1f} core-ms per kept "
          "passage)")
    print(f"  images {hours_img:12,.0f} core-hours ({per_image * 1e3:6.1f} core-ms per kept image)")
    print(f"  total  {total:12,.0f} core-hours; e.g. {total / 1600:,.1f} h on 100 workers of 16 "
          "cores")

    per_in = big["shuffle_bytes"] / max(_rows(big), 1)
    per_kept = one["shuffle_bytes"] / max(passages + images, 1)
    print(f"\nShuffle (every GroupByKey, the bytes of Beam's coders): the input once "
          f"{one['shuffle_bytes'] / 1e6:,.2f} MB in {one['shuffle_elements']:,} elements, "
          f"x{args.copies} {big['shuffle_bytes'] / 1e6:,.2f} MB: {per_in / 1e3:,.1f} KB per "
          f"input row, {per_kept / 1e3:,.1f} KB per kept row")
    for step, size in sorted(big["by_step"].items(), key=lambda kv: -kv[1])[:6]:
        print(f"  {step:28s} {size / max(big['shuffle_bytes'], 1):6.1%}")
    paper_kept = PAPER_PASSAGES + PAPER_IMAGES
    print(f"  at the paper's size: ~{paper_kept * per_kept / 1e12:,.1f} TB of shuffle for "
          f"{paper_kept / 1e6:,.0f}M kept rows (before the runner's compression)")
    print("\nCaveats: the sample keeps more of its input than a raw crawl does (pass --input with "
          "a crawl for a crawl's keep rate); the machine is shared, so compare runs at the same "
          "load.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
