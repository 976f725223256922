"""Run ``m6`` with the seconds of each of the runner's fused stages printed at exit (issue 17.2).

``bench/bench_stages.py`` says where the per-document stages spend their time; this says where a
whole ``m6 corpus`` run does, as Beam's in-process or multi-processing runner (``FnApiRunner``)
executes it: one fused stage after another, each timed from the runner's side, so the figures
hold for one worker and for several. Stages are summed into phases by the steps they hold:

* ``per-document``: reading, extraction, cleaning and quality (the stage that reads the inputs,
  up to the first shuffle of dedup);
* ``dedup``: ``DedupText`` from its first shuffle on, the text rows of its survivors included;
* ``images``: pairing, image filters and ``DedupImages``;
* ``writing``: the shards, the rejected rows, the statistics and the final manifest;
* ``other``: the runner's small stages (the lists of input files).

Usage: ``.venv/bin/python bench/runner_stages.py corpus --input ... --output ...`` (the arguments
of ``m6``); ``bench/scale.py --stage-times`` runs every ``m6 corpus`` this way and prints the
phases. The table goes to stderr, after the run's own output, from the line ``runner stages:``.
Only the FnApiRunner (``DirectRunner``, ``--workers N``) is timed; other runners print nothing.
"""

from __future__ import annotations

import atexit
import re
import sys
import time
from collections import defaultdict

PHASES = (  # by the first step of a fused stage: what it reads
    ("per-document", ("CrawlSpread", "DumpSpread", "WetSpread")),
    ("dedup", ("Dedup/",)),
    ("images", ("Images", "DedupImages", "ListingSpread")),
    ("writing", ("Write/", "Stats", "Finalize", "KeyWritten")),
)
_NAME = re.compile(r"ref_AppliedPTransform_([A-Za-z0-9_-]+?)(?:_\d+)?\)|\(([A-Za-z_]+/[^()+]+)\)")


def phase_of(stage: str) -> str:
    """The phase of a fused stage, by the first step it runs (the runner names a fused stage
    after its steps, the one that reads its input first)."""
    first = short_name(stage, 1)
    for phase, marks in PHASES:
        if first.startswith(marks):
            return phase
    return "other"


def short_name(stage: str, steps: int = 3) -> str:
    """The first ``steps`` step names of a fused stage's name (the runner nests them in
    parentheses, ``((A)+(ref_AppliedPTransform_B_12))+...``)."""
    names = [a or b for a, b in _NAME.findall(stage)]
    more = f" +{len(names) - steps}" if len(names) > steps else ""
    return " + ".join(names[:steps]) + more if names else stage[:80]


def report(times: list[tuple[str, float]], started: float, first: float | None,
           last: float | None, ended: float, top: int = 12) -> str:
    """The table printed at exit: phases, then the ``top`` slowest stages."""
    by_stage: dict[str, float] = defaultdict(float)
    for stage, secs in times:
        by_stage[stage] += secs
    phases: dict[str, float] = defaultdict(float)
    for stage, secs in by_stage.items():
        phases[phase_of(stage)] += secs
    total = ended - started
    before = (first - started) if first is not None else total
    after = (ended - last) if last is not None else 0.0
    inside = sum(by_stage.values())
    lines = [f"runner stages: {total:.1f} s in all, {len(times)} bundles; before the first stage "
             f"{before:.1f} s, between stages {max(0.0, total - before - after - inside):.1f} s, "
             f"after the last {after:.1f} s"]
    lines += [f"  phase {name:13s} {secs:7.2f} s {secs / total:6.1%}"
              for name, secs in sorted(phases.items(), key=lambda kv: -kv[1])]
    lines += [f"  {secs:7.2f} s  {phase_of(stage):13s} {short_name(stage)}"
              for stage, secs in sorted(by_stage.items(), key=lambda kv: -kv[1])[:top]]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    started = time.perf_counter()
    from apache_beam.runners.portability.fn_api_runner import fn_runner

    times: list[tuple[str, float]] = []
    marks: dict[str, float] = {}
    execute = fn_runner.FnApiRunner._execute_bundle

    def timed(self, context, bundle_context, bundle_input):
        start = time.perf_counter()
        marks.setdefault("first", start)
        try:
            return execute(self, context, bundle_context, bundle_input)
        finally:
            marks["last"] = time.perf_counter()
            times.append((bundle_context.stage.name, marks["last"] - start))

    fn_runner.FnApiRunner._execute_bundle = timed

    def at_exit() -> None:
        if times:
            print(report(times, started, marks.get("first"), marks.get("last"),
                         time.perf_counter()), file=sys.stderr, flush=True)

    atexit.register(at_exit)
    from m6.cli import main as m6_main

    sys.argv = ["m6", *argv]
    return m6_main()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
