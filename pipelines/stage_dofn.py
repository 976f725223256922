"""The one generic Beam adapter that runs any corpus stage.

``ApplyStage(stage)`` wraps a ``corpus.stage.Stage`` in a DoFn: ``DoFn.setup`` calls
``stage.setup()`` once per worker (kenlm and fasttext models, word automata are loaded there, not
per record); every ``RejectedRecord`` the stage yields goes to the tagged ``rejected`` output and
is counted with ``Metrics.counter("m6.<stage>", <reason>)``; every other output goes to the main
output; a reader's ``FileCounts`` (``corpus.parse.counts``) become counters named
``input.records``, ``input.skipped:request``, ... and go on to the main output for
``stats.json``. An exception raised on one record does not kill the job: the record goes to
``rejected`` with reason ``error:<ExceptionType>`` and the message in ``detail`` (Beam's
``multiple_output_pardo.py`` pattern, and datatrove's "one bad document never stops a task").

Rejected records are split from kept ones by type (two ``Filter`` steps), not with tagged
outputs: the DaskRunner of Beam 2.77 mixes tagged outputs into the main output, and this must run
unchanged on every runner.

Every record runs within a per-record budget (``corpus.budget.BudgetedStage``): the stage's
structural pre-check, and a killable helper process for the rare record it flags as expensive,
because Beam runs DoFns off the main thread where C code cannot be interrupted. A record over
budget is a rejected row (``too_deep``, ``timeout``, ``text_too_large``) that keeps its input
file and offset; the worker goes on.

Built inside ``pipelines.progress.reporting_to``, a ``StageDoFn`` also counts records in, kept
and rejected into its worker's ``ProcessCounts`` for the live progress lines of ``m6 corpus``.

``ApplyStages(stages, label)`` chains several stages in one DoFn (``ChainDoFn``): a record goes
through every stage in one call, and what any stage rejects leaves on the one ``rejected``
output, so a composite step of the pipeline is one labelled box in a runner's UI. One ParDo for
the chain, not a ParDo and two ``Filter`` steps per stage: the runner's per-element plumbing
between fused steps (receivers, output processors, one generator per step) cost about 15% of the
CPU of ``m6 corpus --no-dedup`` on a generated crawl, more than the five cleaning stages together
(``bench/bench_stages.py``). Counters, progress counts and the per-record budget and error
isolation are each stage's, as before. The chain takes a bundle's records ``CHAIN_BATCH`` at a
time and runs them a stage at a time, which keeps each stage's code and tables in the CPU's
caches (``ChainDoFn`` says how much that saves).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindows

from corpus.budget import BudgetConfig, BudgetedStage
from corpus.parse.counts import FileCounts
from corpus.stage import Stage
from pipelines.batches import delivers_finish_bundle
from pipelines.progress import SEND_INTERVAL_S, capture, counts_for
from schemas import RejectedRecord, make_id

REJECTED = "rejected"
# Records a ChainDoFn runs through its stages together, a stage at a time (``ChainDoFn``): 30,
# 100, 1,000 and 10,000 gave the same speed on the benchmark crawl. A batch also ends once the
# records it holds reach CHAIN_BATCH_BYTES (HTML bodies and texts), so a run of pages near
# extract.max_page_bytes (4 MiB) holds a few of them, not a hundred.
CHAIN_BATCH = 100
CHAIN_BATCH_BYTES = 8 * 1024 * 1024

log = logging.getLogger(__name__)


def error_rejection(stage_name: str, record: Any, exc: BaseException) -> RejectedRecord:
    """A rejected row for a record whose processing raised ``exc``."""
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    reject = getattr(record, "reject", None)
    if callable(reject):
        try:
            return reject(stage_name, f"error:{type(exc).__name__}", detail=detail)
        except Exception:  # noqa: BLE001 - fall through to the generic row below
            pass
    rid = getattr(record, "id", None) or make_id("unknown", repr(record)[:200])
    return RejectedRecord(
        id=rid,
        source=getattr(record, "source", None) or "unknown",
        kind="record",
        stage=stage_name,
        reason=f"error:{type(exc).__name__}",
        detail=detail,
        url=getattr(record, "url", None),
        text=repr(record)[:2000],
    )


class StageDoFn(beam.DoFn):
    """Runs one stage; outputs kept and rejected records together (split by type after)."""

    def __init__(self, stage: Stage, budget: BudgetConfig | None = None):
        self.stage = stage
        self.budgeted = BudgetedStage(stage, budget)
        self._namespace = f"m6.{stage.name}"
        self._progress_address = capture(stage.name)  # None: no live progress wanted

    def setup(self) -> None:
        self.budgeted.setup()
        self._kept = Metrics.counter(self._namespace, "kept")
        self._counters: dict[str, Any] = {}
        address = getattr(self, "_progress_address", None)
        self._progress = counts_for(address) if address is not None else None
        # counted here without a lock, handed to the process's counts a few times a second
        self._pending = [0, 0, 0]
        self._due = 0.0

    def _count(self, reason: str, n: int = 1) -> None:
        c = self._counters.get(reason)
        if c is None:
            c = self._counters[reason] = Metrics.counter(self._namespace, reason)
        c.inc(n)

    def process(self, record: Any) -> Iterator[Any]:
        try:
            outputs = list(self.budgeted.process(record))
        except Exception as exc:  # noqa: BLE001 - one bad record never kills the job
            log.warning("stage %s failed on %s: %s", self.stage.name,
                        getattr(record, "id", "?"), exc)
            rej = error_rejection(self.stage.name, record, exc)
            self._count(rej.reason)
            if self._progress is not None:
                self._tally(0, 1)
            yield rej
            return
        kept = rejected = 0
        for out in outputs:
            if isinstance(out, RejectedRecord):
                self._count(out.reason)
                rejected += 1
            elif isinstance(out, FileCounts):  # a reader's counts of one file: metrics
                for name, n in out.counts.items():
                    if n:
                        self._count(f"input.{name}", n)
            else:
                self._kept.inc()
                kept += 1
            yield out
        if self._progress is not None:  # inlined _tally: this runs once per record
            p = self._pending
            p[0] += 1
            p[1] += kept
            p[2] += rejected
            if time.monotonic() >= self._due:
                self._hand_over()
                self._due = time.monotonic() + SEND_INTERVAL_S / 2

    def _tally(self, kept: int, rejected: int) -> None:
        p = self._pending
        p[0] += 1
        p[1] += kept
        p[2] += rejected
        now = time.monotonic()
        if now >= self._due:
            self._hand_over()
            self._due = now + SEND_INTERVAL_S / 2

    def _hand_over(self) -> None:
        p = self._pending
        if p[0]:
            self._progress.add(self.stage.name, p[0], p[1], p[2])
            self._pending = [0, 0, 0]

    def finish_bundle(self) -> None:
        if getattr(self, "_progress", None) is not None:
            self._hand_over()
            self._progress.send()  # the bundle's last counts, before the runner moves on

    def teardown(self) -> None:
        self.budgeted.teardown()


def is_rejected(record: Any) -> bool:
    return isinstance(record, RejectedRecord)


def is_kept(record: Any) -> bool:
    return not isinstance(record, RejectedRecord)


class StageOutputs(NamedTuple):
    main: beam.PCollection
    rejected: beam.PCollection


def split_rejected(mixed: beam.PCollection) -> StageOutputs:
    """Split a PCollection of records and RejectedRecords into ``(main, rejected)``."""
    return StageOutputs(mixed | "Kept" >> beam.Filter(is_kept),
                        mixed | "Rejected" >> beam.Filter(is_rejected))


class ApplyStage(beam.PTransform):
    """``pcoll | ApplyStage(stage)`` -> ``StageOutputs(main, rejected)``."""

    def __init__(self, stage: Stage, label: str | None = None,
                 budget: BudgetConfig | None = None):
        super().__init__(label or stage.name)
        self.stage = stage
        self.budget = budget

    def expand(self, pcoll):
        return split_rejected(pcoll | "Run" >> beam.ParDo(StageDoFn(self.stage, self.budget)))


class ChainDoFn(beam.DoFn):
    """Runs ``StageDoFn``s one after the other on each record; yields every rejected row (and a
    reader's ``FileCounts``, which pass on as before) as soon as a stage makes it and the records
    the last stage keeps. A stage sees exactly the records the stage before it kept.

    With ``batch > 1`` it keeps up to ``batch`` records of a bundle (fewer once they hold
    ``CHAIN_BATCH_BYTES``) and runs them through the chain a stage at a time (every record through
    the first stage, the kept ones through the second, ...), the rest at the end of the bundle. Why
    (issue 17.2): a record's trip through twelve stages touches twelve stages' code and tables
    (lexbor, the n-gram counters, the fastText and kenlm models), and run a record at a time they
    evicted each other from the CPU's caches: the stages of ``m6 corpus`` took 9.2 s per 10,000
    pages that way and 6.4 s a hundred records at a time, the same code on the same records
    (``bench/bench_stages.py``). Each record is still processed by the same stage calls, with its
    own budget and error isolation, so the rows out are the same; only their order within a bundle
    changes. ``ApplyStages`` turns it on only for globally windowed input on runners that deliver
    ``finish_bundle`` output (``pipelines.batches.delivers_finish_bundle``)."""

    def __init__(self, fns: Sequence[StageDoFn], batch: int = 1):
        self.fns = list(fns)
        self.batch = max(1, int(batch))

    def setup(self) -> None:
        for fn in self.fns:
            fn.setup()

    def start_bundle(self) -> None:
        self._held: list[Any] = []
        self._held_bytes = 0

    def process(self, record: Any) -> Iterator[Any]:
        if self.batch == 1:
            yield from self._run([record])
            return
        held = self._held
        held.append(record)
        self._held_bytes += _size(record)
        if len(held) >= self.batch or self._held_bytes >= CHAIN_BATCH_BYTES:
            self._held, self._held_bytes = [], 0
            yield from self._run(held)

    def _run(self, batch: list[Any]) -> Iterator[Any]:
        for fn in self.fns:
            kept = []
            for r in batch:
                for out in fn.process(r):
                    if isinstance(out, RejectedRecord):
                        yield out
                    else:
                        kept.append(out)
            if not kept:
                return
            batch = kept
        yield from batch

    def finish_bundle(self) -> Iterator[Any]:
        held, self._held, self._held_bytes = getattr(self, "_held", []), [], 0
        for out in self._run(held) if held else ():
            yield GlobalWindows.windowed_value(out)
        for fn in self.fns:
            fn.finish_bundle()

    def teardown(self) -> None:
        for fn in self.fns:
            fn.teardown()


def _size(record: Any) -> int:
    """Bytes of a record's page body and characters of its text (what a held batch costs)."""
    body, text = getattr(record, "body", None), getattr(record, "text", None)
    return ((len(body) if isinstance(body, (bytes, bytearray)) else 0)
            + (len(text) if isinstance(text, str) else 0))


class ApplyStages(beam.PTransform):
    """Chain ``stages`` in one ``ChainDoFn``; returns ``(kept, rejected)`` PCollections.
    ``batch``: records run through the chain together, a stage at a time (1: a record at a
    time, what the chain does anyway where ``_can_hold`` says it may not keep records)."""

    def __init__(self, stages: Sequence[Stage], label: str | None = None,
                 budget: BudgetConfig | None = None, batch: int = CHAIN_BATCH):
        super().__init__(label)
        self.stages = list(stages)
        self.budget = budget
        self.batch = batch

    def expand(self, pcoll):
        if not self.stages:
            empty = pcoll.pipeline | "NoRejected" >> beam.Create([])
            return pcoll, empty
        fns = [StageDoFn(stage, self.budget) for stage in self.stages]
        batch = self.batch if _can_hold(pcoll) else 1
        return tuple(split_rejected(pcoll | "Run" >> beam.ParDo(ChainDoFn(fns, batch))))


def _can_hold(pcoll: beam.PCollection) -> bool:
    """Whether a DoFn may keep records of ``pcoll`` until ``finish_bundle``: its elements are in
    the global window (what ``finish_bundle`` emits into) and the runner passes on what
    ``finish_bundle`` emits (the DaskRunner of Beam 2.77 drops it). A held record leaves with the
    timestamp of the record that completed its batch, or the global window's least one from
    ``finish_bundle``: nothing in the corpus pipeline reads timestamps."""
    return (isinstance(pcoll.windowing.windowfn, GlobalWindows)
            and delivers_finish_bundle(pcoll.pipeline))
