"""Live progress of ``m6 corpus``: one line per stage (records in, kept, rejected, rate), redrawn
in place on a terminal, a block every ``LOG_INTERVAL_S`` in a log file, one JSON object per
stage and tick on stderr with ``--json-progress``; nothing with ``-q``.

Where the numbers come from, and why not from Beam's metrics alone. ``StageDoFn`` already counts
kept and rejected records with ``Metrics.counter`` (``pipelines/stage_dofn.py``), and the final
line uses exactly those from the ``PipelineResult``. But the runners m6 runs on a laptop give no
metrics while they run: the in-process DirectRunner (``FnApiRunner``) returns from ``run()``
only when the pipeline is done, and the multi-process DirectRunner and the local Dask cluster
commit a bundle's counters only when the bundle ends, which for a reader of one big WARC file is
the end of the file. So the workers report instead: every ``StageDoFn`` counts into its
process's ``ProcessCounts``, which sends its cumulative counts as one UDP datagram to the
driver's ``ProgressMonitor`` on 127.0.0.1 at most every ``SEND_INTERVAL_S`` and at the end of
every bundle. Datagrams are fire-and-forget (a lost one is replaced by the next, which carries
the totals) and never block or fail a worker. Runners whose workers cannot reach the driver's
loopback address (Dataflow, Spark, Flink, a remote Dask cluster) get no reporter; while their
job runs the monitor polls ``PipelineResult.metrics()`` instead (kept and rejected; records in
is their sum there), the way Dataflow's own UI shows counters.

A retried bundle is counted twice by the live lines (the worker cannot know); the final line,
from Beam's committed metrics, is exact for kept and rejected.

The driver turns reporting on for the pipelines it builds with ``reporting_to(address)``: a
``StageDoFn`` constructed inside it captures the address (a plain picklable tuple) and the
stage's name, so the display lists stages in pipeline order and no stage needs a parameter.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

SEND_INTERVAL_S = 0.5  # a worker sends its counts at most this often (and at each bundle's end)
TTY_INTERVAL_S = 0.5  # a terminal's lines are redrawn this often
LOG_INTERVAL_S = 10.0  # a block of lines this often when stderr is a file or a pipe
JSON_INTERVAL_S = 1.0
_MAX_DATAGRAM = 60_000

# (host, port, run token): the token keeps a later run whose monitor gets the same port from
# mixing with an earlier run's counts in a long-lived worker process
Address = tuple[str, int, str]

# ---------------------------------------------------------------------- building (driver)


@dataclass
class _Building:
    address: Address
    stages: list[str] = field(default_factory=list)


_building: _Building | None = None


@contextlib.contextmanager
def reporting_to(address: Address) -> Iterator[list[str]]:
    """While open, every ``StageDoFn`` built reports to ``address``; yields the stage names in
    the order the pipeline builds them."""
    global _building
    previous, _building = _building, _Building(address)
    try:
        yield _building.stages
    finally:
        _building = previous


def capture(stage_name: str) -> Address | None:
    """Called by ``StageDoFn.__init__``: the address to report to, or None (no reporting)."""
    if _building is None:
        return None
    if stage_name not in _building.stages:
        _building.stages.append(stage_name)
    return _building.address


# ---------------------------------------------------------------------- counting (workers)


class ProcessCounts:
    """The counts of every stage in one worker process, sent to the driver now and then."""

    def __init__(self, address: Address):
        self.address = address
        self.token = f"{os.getpid()}-{time.monotonic_ns()}"  # one process's reports
        self._counts: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        self._sent = 0.0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setblocking(False)

    def add(self, stage: str, n_in: int, kept: int, rejected: int) -> None:
        with self._lock:
            c = self._counts.get(stage)
            if c is None:
                c = self._counts[stage] = [0, 0, 0]
            c[0] += n_in
            c[1] += kept
            c[2] += rejected
            due = time.monotonic() - self._sent >= SEND_INTERVAL_S
        if due:
            self.send()

    def send(self) -> None:
        with self._lock:
            self._sent = time.monotonic()
            payload = json.dumps({"r": self.address[2], "w": self.token,
                                  "c": self._counts}).encode()
        if len(payload) > _MAX_DATAGRAM:
            return
        try:
            self._sock.sendto(payload, self.address[:2])
        except OSError:  # progress is best effort: a full buffer or a closed driver costs nothing
            pass

    def close(self) -> None:
        self._sock.close()


_process_counts: dict[Address, ProcessCounts] = {}
_process_lock = threading.Lock()


@atexit.register
def _close_all() -> None:
    """The process's counters live as long as it does (a worker serves many bundles)."""
    for pc in _process_counts.values():
        pc.close()


def counts_for(address: Address) -> ProcessCounts:
    """This process's counter for ``address`` (one per process, shared by all its DoFns)."""
    with _process_lock:
        pc = _process_counts.get(address)
        if pc is None:
            pc = _process_counts[address] = ProcessCounts(address)
        return pc


# ---------------------------------------------------------------------- showing (driver)


@dataclass
class StageLine:
    stage: str
    records_in: int
    kept: int
    rejected: int
    rate: float  # records in per second since the stage's first report

    def text(self, width: int) -> str:
        return (f"  {self.stage:<{width}} {self.records_in:>11,} in {self.kept:>11,} kept "
                f"{self.rejected:>9,} rejected {self.rate:>9,.1f}/s")

    def as_json(self, elapsed: float, final: bool) -> str:
        return json.dumps({"event": "progress", "stage": self.stage, "in": self.records_in,
                           "kept": self.kept, "rejected": self.rejected,
                           "rate_per_s": round(self.rate, 1), "elapsed_s": round(elapsed, 1),
                           "final": final})


class ProgressMonitor:
    """Receives the workers' reports and draws them; ``mode`` is ``tty``, ``log`` or ``json``."""

    def __init__(self, mode: str, stream: TextIO | None = None, stages: list[str] | None = None):
        if mode not in ("tty", "log", "json"):
            raise ValueError(f"progress mode must be tty, log or json, got {mode!r}")
        self.mode = mode
        self.stream = stream or sys.stderr
        self.stages = stages if stages is not None else []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        host, port = self._sock.getsockname()
        self.address: Address = (host, port, secrets.token_hex(8))
        self._workers: dict[str, dict[str, list[int]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._drawn_lines = 0
        self._draw_lock = threading.RLock()
        self._first_seen: dict[str, float] = {}
        self._last_counts: list[tuple[str, int, int, int]] = []
        self._poll = None  # a callable giving {stage: [in, kept, rejected]} from Beam metrics
        self._threads = [threading.Thread(target=self._receive, daemon=True, name="m6-progress-rx"),
                         threading.Thread(target=self._draw_loop, daemon=True, name="m6-progress")]

    # -- input

    def _receive(self) -> None:
        while not self._stop.is_set():
            self._drain_once()

    def _drain_once(self) -> bool:
        try:
            data = self._sock.recv(65_536)
        except (TimeoutError, BlockingIOError):
            return False
        except OSError:
            return False
        try:
            msg = json.loads(data)
            if msg["r"] != self.address[2]:
                return True  # another run's report: ignored
            worker, counts = str(msg["w"]), {str(k): [int(x) for x in v][:3]
                                             for k, v in dict(msg["c"]).items()}
        except (ValueError, KeyError, TypeError):
            return True  # not one of ours: ignored
        with self._lock:
            self._workers[worker] = counts
        return True

    def poll_metrics(self, poll) -> None:
        """Use ``poll()`` (counts from ``PipelineResult.metrics()``) while no worker reports."""
        self._poll = poll

    def totals(self) -> dict[str, list[int]]:
        with self._lock:
            workers = list(self._workers.values())
        if not workers and self._poll is not None:
            try:
                return self._poll()
            except Exception:  # noqa: BLE001 - a runner's metrics API failing is no reason to stop
                return {}
        out: dict[str, list[int]] = {}
        for counts in workers:
            for stage, c in counts.items():
                t = out.setdefault(stage, [0, 0, 0])
                for i in range(3):
                    t[i] += c[i]
        return out

    def lines(self, totals: dict[str, list[int]] | None = None) -> list[StageLine]:
        totals = self.totals() if totals is None else totals
        now = time.monotonic()
        for s in totals:  # a stage's rate counts from when its records began to flow
            self._first_seen.setdefault(s, now)
        order = self.stages + sorted(s for s in totals if s not in self.stages)
        return [StageLine(s, *totals[s], rate=totals[s][0] / self._seconds(s, now))
                for s in order if s in totals]

    def _seconds(self, stage: str, now: float) -> float:
        """Seconds the stage has been running, as seen from here: since its first report, or
        since the start while that is under a second old (first seen at this very tick)."""
        since = now - self._first_seen[stage]
        return since if since >= 1.0 else max(now - self._t0, 1e-9)

    # -- output

    def _draw_loop(self) -> None:
        interval = {"tty": TTY_INTERVAL_S, "log": LOG_INTERVAL_S, "json": JSON_INTERVAL_S}
        while not self._stop.wait(interval[self.mode]):
            self.draw(final=False)

    def draw(self, final: bool, totals: dict[str, list[int]] | None = None) -> None:
        lines = self.lines(totals)
        if not lines:
            return
        elapsed = time.monotonic() - self._t0
        width = max(len(line.stage) for line in lines)
        texts = [line.text(width) for line in lines]
        counts = [(line.stage, line.records_in, line.kept, line.rejected) for line in lines]
        if counts == self._last_counts and not final:
            return  # nothing moved: a log file gets no repeated block
        self._last_counts = counts
        out = self.stream
        with self._draw_lock:
            if self.mode == "json":
                for line in lines:
                    out.write(line.as_json(elapsed, final) + "\n")
            elif self.mode == "tty":
                if self._drawn_lines:  # back to the first line of the block and redraw it
                    out.write(f"\x1b[{self._drawn_lines}F")
                out.write("".join(f"\x1b[2K{t}\n" for t in texts))
                self._drawn_lines = len(texts)
            else:
                head = "stages, final" if final else "progress"
                out.write(f"{head} after {elapsed:.0f} s:\n" + "".join(t + "\n" for t in texts))
            out.flush()

    def write_above(self, text: str) -> None:
        """Write ``text`` (a log line) where the block of lines is; the block is drawn again
        below it at the next tick, so log lines and progress never overwrite each other."""
        with self._draw_lock:
            if self.mode == "tty" and self._drawn_lines:
                self.stream.write(f"\x1b[{self._drawn_lines}F\x1b[J")
                self._drawn_lines = 0
                self._last_counts = []
            self.stream.write(text)

    # -- life

    def start(self) -> ProgressMonitor:
        self._t0 = time.monotonic()
        for t in self._threads:
            t.start()
        return self

    def close(self) -> None:
        """Close the socket (``stop`` does; a monitor that only draws needs this alone)."""
        self._sock.close()

    def stop(self, final_totals: dict[str, list[int]] | None = None) -> None:
        """Stop drawing; take the reports still queued and draw the final lines (from
        ``final_totals``, Beam's committed metrics, where the runner gave them)."""
        self._stop.set()
        for t in self._threads:
            if t.ident is not None:  # started
                t.join(timeout=2)
        while self._drain_once():
            pass
        self.close()
        totals = self.totals()
        for stage, (kept, rejected) in (final_totals or {}).items():
            t = totals.get(stage)
            if t is not None:  # a stage the lines show (other m6.* counters are not stages)
                t[1], t[2] = kept, rejected
        self.draw(final=True, totals=totals)


class _AboveProgress:
    """A stream for logging handlers that writes through ``ProgressMonitor.write_above``."""

    def __init__(self, monitor: ProgressMonitor):
        self.monitor = monitor

    def write(self, text: str) -> int:
        self.monitor.write_above(text)
        return len(text)

    def flush(self) -> None:
        self.monitor.stream.flush()


@contextlib.contextmanager
def logging_above(monitor: ProgressMonitor) -> Iterator[None]:
    """On a terminal, route the log handlers that write to the monitor's stream through it."""
    import logging

    if monitor.mode != "tty":
        yield
        return
    moved = [h for h in logging.getLogger().handlers
             if isinstance(h, logging.StreamHandler) and h.stream is monitor.stream]
    for h in moved:
        h.setStream(_AboveProgress(monitor))
    try:
        yield
    finally:
        for h in moved:
            h.setStream(monitor.stream)


def metric_counts(result: Any) -> dict[str, tuple[int, int]]:
    """``{stage: (kept, rejected)}`` from the committed counters of a ``PipelineResult``:
    namespace ``m6.<stage>``, ``kept``, every other name a rejection reason except the reader
    counts ``input.*`` (``pipelines/stage_dofn.py``)."""
    out: dict[str, list[int]] = {}
    for c in result.metrics().query()["counters"]:
        ns = c.key.metric.namespace
        if not ns.startswith("m6."):
            continue
        stage, name = ns[3:], c.key.metric.name
        value = c.committed if c.committed is not None else (c.attempted or 0)
        t = out.setdefault(stage, [0, 0])
        if name == "kept":
            t[0] += int(value)
        elif not name.startswith("input."):
            t[1] += int(value)
    return {s: (k, r) for s, (k, r) in out.items()}


def polled_counts(result: Any) -> dict[str, list[int]]:
    """Live counts of a runner that reports metrics while running (attempted values)."""
    out: dict[str, list[int]] = {}
    for c in result.metrics().query()["counters"]:
        ns = c.key.metric.namespace
        if not ns.startswith("m6."):
            continue
        name = c.key.metric.name
        t = out.setdefault(ns[3:], [0, 0, 0])
        value = int(c.attempted or 0)
        if name == "kept":
            t[1] += value
        elif not name.startswith("input."):
            t[2] += value
    for t in out.values():
        t[0] = t[1] + t[2]
    return out


def choose_mode(quiet: bool, json_progress: bool, stream: TextIO) -> str | None:
    """``json`` when asked, nothing with ``-q``, else ``tty`` on a terminal and ``log``."""
    if json_progress:
        return "json"
    if quiet:
        return None
    return "tty" if stream.isatty() else "log"


LOCAL_RUNNERS = ("DirectRunner", "direct", "PortableRunner", "DaskRunner")


def workers_can_report(runner: str, beam_args: list[str]) -> bool:
    """Whether the workers run on this machine and can reach 127.0.0.1 of the driver: the
    DirectRunner, the embedded PortableRunner with LOOPBACK, and the Dask cluster ``m6 corpus``
    starts itself (a given ``--dask_client_address`` may be remote)."""
    if runner not in LOCAL_RUNNERS:
        return False
    if runner == "PortableRunner":
        return not any(a.startswith(("--job_endpoint", "--environment_type")) for a in beam_args)
    if runner == "DaskRunner":
        return not any(a.startswith("--dask_client_address") for a in beam_args)
    return True
