"""Per-record budgets: no single record from the web can stall a worker (issue 15, point 1).

Two defences, because neither is enough alone:

1. **Structural pre-checks** that cost a few microseconds and run on every record before the
   expensive work: the depth and element count of an HTML page from a vectorised scan of its
   tags (``html_shape``), and the size of a document's text. A record over a structural budget is
   rejected at once (``extract.too_deep``, ``extract.too_many_elements``, ``<stage>.text_too_large``)
   and never parsed. This is what makes the pathological page cheap: a 5 KB gzipped page of
   100,000 nested ``<div>`` costs lexbor ~10 s and resiliparse far more (time grows with the square
   of the depth: 1,000 levels 0.02 s, 2,000 0.18 s, 5,000 0.5 s, measured with ``bench_budget``),
   and the scan rejects it in about a millisecond. The depth limit, 512, is Blink's own HTML
   parser limit (``kMaximumHTMLParserDOMTreeDepth``): a browser does not build deeper trees either.
2. **A watchdog for what the pre-check cannot price**: a record the pre-check flags as expensive
   (deeper than ``html_helper_depth`` or with more than ``html_helper_elements`` elements, but
   within the hard limits) runs in a helper process under ``RLIMIT_CPU``; if it uses more than
   ``record_cpu_seconds`` of CPU the kernel kills the helper (``SIGXCPU``), the record becomes a
   ``<stage>.timeout`` row, and a fresh helper is started for the next one.

Why a helper process and not a thread or a signal: the extractors are C (lexbor, resiliparse);
a Python thread cannot interrupt C code, and ``signal.alarm`` works only on the main thread,
while Beam runs DoFns on worker threads (DirectRunner, Dask, Flink, Dataflow alike). A process
can always be killed, on every runner. Why only for flagged records and not a process pool for
all: shipping every page to another process (pickling 20-100 KB each way) costs more than the
5% the normal path may lose (``bench/bench_budget.py`` measures it), and the ~0.5 s start of a
spawned helper is paid once per worker, only when a flagged record arrives.

The helper is our own child process started with ``spawn``; stage and record travel over a
private ``multiprocessing`` pipe (pickled by multiprocessing between the two processes we
started), never from a file. Every rejected row keeps the record's ``input_file`` and ``offset``,
so it can be rerun with a larger budget (``--set budget.record_cpu_seconds=60``).

A stage opts in by defining ``precheck(record) -> RejectedRecord | Route``; stages without it run
inline, with a text-size check for documents and a warning (with file and offset) when a record
took longer than its budget (wall time there: a CPU clock read costs more than the cheap
cleaning stages themselves). Super-linear stages were found by growing hostile inputs and timing
them (``bench/bench_budget.py``, "growth"); see the README's "Budgets" paragraph.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

import numpy as np

from schemas import RejectedRecord, make_id

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class BudgetConfig:
    """What one record may cost. Over a limit, the record is a rejected row; the worker goes on."""

    record_cpu_seconds: float = 10.0  # CPU time of one flagged record in the helper (timeout)
    html_max_depth: int = 512  # deeper pages are rejected unparsed (too_deep); Blink's limit
    html_max_elements: int = 200_000  # pages with more tags are rejected unparsed
    html_helper_depth: int = 128  # pages deeper than this (but within the limit) run in the helper
    html_helper_elements: int = 50_000  # pages with more tags than this run in the helper
    max_text_chars: int = 2_000_000  # documents with longer text: text_too_large
    helper: bool = True  # False: flagged records run inline too (no watchdog)


class Route(Enum):
    """Where a record that passed the structural pre-check runs."""

    INLINE = "inline"
    HELPER = "helper"


# ---------------------------------------------------------------------------------------------
# the HTML shape scan

# Tags that never hold children (void elements) or that the HTML parser closes implicitly when a
# sibling opens (p, li, td, ...): they do not add depth, so they are not counted as openings.
# Tags are told apart by their first three name characters (``_key``): cheap and exact for these.
_FLAT_TAGS = ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
              "source", "track", "wbr", "p", "li", "dt", "dd", "option", "tr", "td", "th",
              "thead", "tbody", "tfoot", "html", "body", "frame", "keygen", "image")
_RAW_TAGS = ("script", "style", "textarea", "title", "xmp", "noscript")  # hold text, not tags
# byte -> 6-bit code: letters 1-26 (either case), digits 27-36, anything else 0 (ends a name)
_CODE = np.zeros(256, dtype=np.int32)
for _i, _c in enumerate(b"abcdefghijklmnopqrstuvwxyz"):
    _CODE[_c] = _CODE[_c - 32] = _i + 1
for _i, _c in enumerate(b"0123456789"):
    _CODE[_c] = 27 + _i


def _key(name: str) -> int:
    c = [int(_CODE[b]) for b in name.encode()[:3]] + [0, 0]
    return c[0] * 4096 + c[1] * 64 + c[2]


_NAME_OFFSETS = np.arange(3)
_KIND = np.zeros(64 ** 3, dtype=np.int8)  # by _key: 0 an ordinary tag, 1 flat, 2 raw text
_KIND[[_key(t) for t in _FLAT_TAGS]] = 1
_KIND[[_key(t) for t in _RAW_TAGS]] = 2


@dataclass(frozen=True)
class HtmlShape:
    depth: int  # an estimate of the DOM depth the parser would build (high rather than low)
    elements: int  # opening tags


def html_shape(body: bytes, exact_below: int = 0) -> HtmlShape:
    """Depth and element count of an HTML page from its tags, without parsing it.

    Every ``<name`` opens an element and every ``</name`` closes one, except void and
    implicitly closed elements (``_FLAT_TAGS``) and everything inside ``<script>``, ``<style>``
    and the other raw-text elements (``a<b`` in JavaScript is not a tag). Unclosed ordinary tags
    make the estimate high rather than low. A page with at most ``exact_below`` ``<`` bytes is
    answered from that count alone (its depth cannot be larger). Vectorised over the ``<``
    positions with numpy: a few tens of microseconds for a typical page.
    """
    n = body.count(b"<")
    if n <= exact_below:
        return HtmlShape(n, n)
    arr = np.frombuffer(body, dtype=np.uint8)
    pos = np.flatnonzero(arr == 0x3C)
    pos = pos[pos < len(arr) - 4]  # a tag cut by the end of the page opens nothing
    if not len(pos):
        return HtmlShape(0, 0)
    close = arr[pos + 1] == 0x2F
    codes = _CODE[arr[(pos + 1 + close)[:, None] + _NAME_OFFSETS]]  # first 3 name characters
    c0 = codes[:, 0]
    c1 = codes[:, 1] * (c0 != 0)  # a name ends at its first non-alphanumeric byte
    c2 = codes[:, 2] * (c1 != 0)
    is_tag = (c0 >= 1) & (c0 <= 26)
    kind = _KIND[c0 * 4096 + c1 * 64 + c2]
    kind[~is_tag] = -1
    sign = 1 - 2 * close.astype(np.int32)  # +1 opens, -1 closes
    raw = kind == 2
    if raw.any():  # not inside a raw-text element, and not its own tags
        outside = (np.cumsum(sign * raw) <= 0) & ~raw
        counted = (kind == 0) & outside
        opened = is_tag & ~close & (outside | raw)
    else:
        counted = kind == 0
        opened = is_tag & ~close
    depth = int(np.cumsum(sign * counted).max())
    return HtmlShape(max(depth, 0), int(np.count_nonzero(opened)))


# ---------------------------------------------------------------------------------------------
# rejecting over budget


def reject(stage_name: str, record: Any, reason: str, detail: str) -> RejectedRecord:
    """A rejected row for ``record`` that keeps its input file and offset (for a rerun)."""
    make = getattr(record, "reject", None)
    if callable(make):
        return make(stage_name, reason, detail=detail)
    return RejectedRecord(
        id=getattr(record, "id", None) or make_id("unknown", repr(record)[:200]),
        source=getattr(record, "source", None) or "unknown", kind="record", stage=stage_name,
        reason=reason, detail=detail, url=getattr(record, "url", None),
        input_file=getattr(record, "input_file", None), offset=getattr(record, "offset", None))


def text_over_budget(stage_name: str, record: Any, budget: BudgetConfig) -> RejectedRecord | None:
    text = getattr(record, "text", None)
    if isinstance(text, str) and len(text) > budget.max_text_chars:
        return reject(stage_name, record, "text_too_large",
                      f"{len(text)} characters > budget.max_text_chars={budget.max_text_chars}")
    return None


# ---------------------------------------------------------------------------------------------
# the watchdog


def _helper_main(conn, stage, cpu_seconds: float) -> None:  # pragma: no cover - child process
    import resource

    # SIGXCPU's default action dumps core: a killed helper must not write one
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    stage.setup()
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    while True:
        try:
            record = conn.recv()
        except EOFError:
            return
        usage = resource.getrusage(resource.RUSAGE_SELF)
        soft = math.ceil(usage.ru_utime + usage.ru_stime + cpu_seconds)
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        # the kernel sends SIGXCPU (default action: terminate) once the process passes ``soft``
        # CPU seconds: this stops C code that no Python-level signal handler could interrupt
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
        try:
            reply = ("ok", list(stage.process(record)))
        except Exception as exc:  # noqa: BLE001 - reported to the parent as the record's error
            reply = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(reply)


class Watchdog:
    """A helper process that runs ``stage`` on one record at a time within a CPU budget.

    ``run(record)`` returns the stage's outputs, or None when the helper was killed for going
    over ``cpu_seconds`` (or over a wall-clock backstop of 3x that plus 10 s, in case it blocks).
    Raises ``RuntimeError`` with the stage's error message when the stage raised.
    """

    def __init__(self, stage, cpu_seconds: float):
        self.stage = stage
        self.cpu_seconds = cpu_seconds
        self._proc = None
        self._conn = None
        self.started = 0  # helpers started (one per worker, plus one per timeout)

    def _start(self) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")  # fork is unsafe from a threaded Beam worker
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_helper_main, args=(child, self.stage, self.cpu_seconds),
                                 daemon=True, name=f"m6-budget-{self.stage.name}")
        self._proc.start()
        child.close()
        self._conn = parent
        self.started += 1

    def run(self, record: Any) -> list[Any] | None:
        if self._proc is None or not self._proc.is_alive():
            self.close()
            self._start()
        try:
            self._conn.send(record)
            ready = self._conn.poll(self.cpu_seconds * 3 + 10)
            kind, payload = self._conn.recv() if ready else (None, None)
        except (EOFError, OSError):
            kind, payload = None, None
        if kind is None:
            self.close()
            return None
        if kind == "error":
            raise RuntimeError(payload)
        return payload

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join(5)
            self._proc = None


class BudgetedStage:
    """Runs a stage record by record within ``budget``: the structural pre-check, then inline or
    in the watchdog helper. Used by the Beam adapter (``pipelines.stage_dofn``) and usable alone
    (``run``) in tests and notebooks."""

    def __init__(self, stage, budget: BudgetConfig | None = None):
        self.stage = stage
        self.budget = budget or BudgetConfig()
        self._watchdog: Watchdog | None = None
        self.timeouts = 0
        self.slow = 0  # inline records that took longer than the budget (logged)

    @property
    def name(self) -> str:
        return self.stage.name

    def setup(self) -> None:
        self.stage.setup()

    def teardown(self) -> None:
        if self._watchdog is not None:
            self._watchdog.close()
            self._watchdog = None

    def process(self, record: Any) -> list[Any]:
        """The stage's outputs for ``record`` (a list), or one rejected row over budget. Kept
        lean: it runs for every record of every stage (``bench_budget`` measures the cost)."""
        text = getattr(record, "text", None)
        if text is not None and isinstance(text, str) and len(text) > self.budget.max_text_chars:
            return [text_over_budget(self.stage.name, record, self.budget)]
        precheck = getattr(self.stage, "precheck", None)
        if precheck is not None:
            route = precheck(record)
            if isinstance(route, RejectedRecord):
                return [route]
            if route is Route.HELPER and self.budget.helper:
                return list(self._in_helper(record))
        start = time.perf_counter()
        outputs = list(self.stage.process(record))
        spent = time.perf_counter() - start
        if spent > self.budget.record_cpu_seconds:
            self.slow += 1
            log.warning("stage %s took %.1f s (budget %.1f s) on %s at %s@%s; its precheck did "
                        "not flag it", self.stage.name, spent, self.budget.record_cpu_seconds,
                        getattr(record, "url", None) or getattr(record, "id", "?"),
                        getattr(record, "input_file", None), getattr(record, "offset", None))
        return outputs

    def _in_helper(self, record: Any) -> Iterator[Any]:
        if self._watchdog is None:
            import multiprocessing

            if multiprocessing.current_process().daemon:
                # a daemonic worker (Dask's default) may not start children: such a record runs
                # inline, bounded by the structural limits alone; say so once
                log.warning("stage %s: this worker process is daemonic and cannot start the "
                            "budget helper; flagged records run inline (within the structural "
                            "limits only)", self.stage.name)
                self.budget = replace(self.budget, helper=False)
                yield from self.stage.process(record)
                return
            self._watchdog = Watchdog(self.stage, self.budget.record_cpu_seconds)
        outputs = self._watchdog.run(record)
        if outputs is None:
            self.timeouts += 1
            log.warning("stage %s: record %s went over its budget of %.1f CPU seconds",
                        self.stage.name, getattr(record, "id", "?"),
                        self.budget.record_cpu_seconds)
            yield reject(self.stage.name, record, "timeout",
                         f"over budget.record_cpu_seconds={self.budget.record_cpu_seconds:g}; "
                         "rerun with a larger budget to keep it")
            return
        yield from outputs

    def run(self, records) -> Iterator[Any]:
        """Run over ``records`` outside Beam; stops the helper at the end."""
        self.setup()
        try:
            for record in records:
                yield from self.process(record)
        finally:
            self.teardown()
