"""Worker processes of ``m6 corpus --workers N``, forked before the pipeline is built, so that
they start with Beam and the corpus's stages already imported.

Why (issue 17.2): Beam's ``FnApiRunner`` starts its worker processes when the first stage runs.
Each is a new Python that imports Beam and, with its first bundle, the corpus's stages (about
1 s of CPU each) while the driver waits: on the 50,000-page crawl with 2 workers on 2 cores the
first page was read about 4.0 s after the start, against 2.7 s with one in-process worker, and
the run used 6 s more CPU in all than with one worker. The driver imports the same modules
anyway; a process forked from it after that shares them, copy-on-write, and is ready at once.
Forked this way the first page is read at about 3.0 s and the run uses 3 s less CPU.

How:

* ``prestart(argv)``, which ``m6 corpus`` calls after importing its module and before it does
  anything else (``m6/cli.py``), imports what a worker needs (``PRELOAD``) and forks N warm
  processes when the run will use N worker processes (``uses_worker_processes``), on Linux.
  It puts ``M6_WARM_WORKERS=FOLDER`` in the environment that the runner passes on to the
  workers it starts. Nothing has started a thread or a gRPC channel yet, so the fork is safe.
* Each warm process listens on the Unix socket ``FOLDER/i.sock`` and says so with the file
  ``FOLDER/i.ready``.
* When the runner starts a worker (``python -m pipelines.worker``: a small process), the worker
  claims a ready process by renaming its file to ``i.claimed`` (a rename succeeds for one
  claimant only), sends it its own environment and arguments (the control and logging
  endpoints, the options and the worker id are there: what Beam gives a worker) and waits for
  its exit status, which it exits with. With none ready it runs Beam's worker itself, as
  before: a run never depends on the warm processes, it only starts sooner with them.
* A warm process that is never claimed exits when the driver closes the pool (at exit) or,
  should the driver die, when it sees within ``_POLL_S`` that its parent is gone. A claimed
  one ends when the runner closes its control channel, like any worker.

Only the first pipeline of a run gets them: a run in batches (``pipelines/batch_run.py``) runs
a new pipeline per batch, after the driver has run gRPC servers, and forking then is not safe;
those batches' workers start as Beam starts them. Nor do callers of ``pipelines.cli.main``
(the tests) that never call ``prestart``, and macOS, where a forked process may not use every
system library.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib
import json
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import traceback
from pathlib import Path

ENV = "M6_WARM_WORKERS"
# What a worker of the corpus pipeline imports anyway: Beam's SDK harness, and the modules of
# the stages that its first bundle unpickles (reading, extraction, cleaning, quality, dedup).
PRELOAD = (
    "apache_beam.runners.worker.sdk_worker_main",
    "pipelines.corpus_pipeline",
    "pipelines.dedup",
    "corpus.extract.html",
    "corpus.clean",
    "corpus.quality",
)
_POLL_S = 0.5  # how often an unclaimed process checks that its driver is alive
_MAX_SOCKET_PATH = 107  # bytes in a Unix socket's path, on Linux

log = logging.getLogger(__name__)


def uses_worker_processes(runner: str, workers: int, beam_args: list[str]) -> bool:
    """Whether ``m6 corpus`` runs its stages in ``workers`` processes of ``pipelines.worker``
    (``pipelines.options`` decides by this): the DirectRunner with ``--workers`` above 1 and no
    ``--direct_running_mode`` of Beam's own."""
    own = any(a.split("=", 1)[0] == "--direct_running_mode" for a in beam_args)
    return runner in ("DirectRunner", "direct") and workers > 1 and not own


class WarmPool:
    """Warm worker processes forked from this one, in a folder of their own (see the module's
    docstring)."""

    def __init__(self, folder: str):
        self.folder = folder
        self.pids: list[int] = []

    def start(self, n: int) -> None:
        """Fork ``n`` processes (see the module's docstring for why a fork)."""
        for _ in range(n):
            base = os.path.join(self.folder, str(len(self.pids)))
            pid = os.fork()
            if pid == 0:  # the warm process
                try:
                    serve(base)
                finally:
                    os._exit(1)  # serve never returns; nothing of the driver's runs here
            self.pids.append(pid)

    def claimed(self) -> int:
        """How many processes a worker has claimed."""
        return len(list(Path(self.folder).glob("*.claimed")))

    def close(self) -> None:
        """Stop every process still running (unclaimed ones wait for nothing else; claimed ones
        have finished by the time the runner returns), reap them all and remove the folder."""
        claimed = self.claimed()
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):  # ended and reaped already
                os.kill(pid, signal.SIGKILL)  # an ended one is a zombie until reaped: no-op
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        shutil.rmtree(self.folder, ignore_errors=True)
        if os.environ.get(ENV) == self.folder:
            del os.environ[ENV]
        log.info("workers: %d of %d forked before the pipeline was built were used", claimed,
                 len(self.pids))


_pool: WarmPool | None = None


def prestart(argv: list[str]) -> None:
    """Fork the warm workers of ``m6 corpus ARGV`` if it will run worker processes (see the
    module's docstring); silent when it will not, or cannot."""
    global _pool
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--runner", default="DirectRunner")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--print-config", action="store_true")
    ap.add_argument("--help", "-h", action="store_true")
    try:
        args, rest = ap.parse_known_args(argv)
    except SystemExit:  # a bad --workers: m6 corpus's own parser says so
        return
    if (_pool is not None or args.print_config or args.help
            or not sys.platform.startswith("linux")
            or not uses_worker_processes(args.runner, args.workers, rest)):
        return
    folder = tempfile.mkdtemp(prefix="m6-workers-")
    if len(os.fsencode(folder)) + len("/999.sock") > _MAX_SOCKET_PATH:
        # a long TMPDIR: Beam starts the workers
        os.rmdir(folder)
        return
    for name in PRELOAD:  # imported once, here, and shared by every fork
        try:
            importlib.import_module(name)
        except ImportError:  # an optional part missing: the bundle that needs it will say so
            pass
    _pool = WarmPool(folder)
    _pool.start(args.workers)
    os.environ[ENV] = folder
    atexit.register(close)


def close() -> None:
    """Close the pool ``prestart`` made, if any (also run at exit)."""
    global _pool
    if _pool is not None:
        _pool.close()
        _pool = None


# ---------------------------------------------------------------- the worker's side

def serve(base: str) -> None:
    """A warm process: listen, wait to be claimed (or for the driver to go), then run Beam's
    worker with the claimant's environment and arguments and send back its exit status."""
    parent = os.getppid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(base + ".sock")
    listener.listen(1)
    listener.settimeout(_POLL_S)
    Path(base + ".tmp").touch()
    os.rename(base + ".tmp", base + ".ready")
    while True:
        try:
            conn, _ = listener.accept()
            break
        except TimeoutError:
            if os.getppid() != parent:  # the driver is gone: leave no files behind
                for path in (base + ".sock", base + ".ready"):
                    with contextlib.suppress(OSError):
                        os.unlink(path)
                with contextlib.suppress(OSError):
                    os.rmdir(os.path.dirname(base))  # the last one out
                os._exit(0)
    listener.close()
    os.unlink(base + ".sock")
    conn.settimeout(None)
    request = json.loads(_read_all(conn))
    os.environ.update(request["env"])
    sys.argv = request["argv"]
    rc = 0
    try:
        from apache_beam.runners.worker import sdk_worker_main

        sdk_worker_main.main(sys.argv)
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else 1
    except BaseException:  # noqa: BLE001 - reported as the worker's failure, as Beam's would be
        traceback.print_exc()
        rc = 1
    try:
        conn.sendall(bytes([rc & 0xFF]))
    finally:
        from pipelines.worker import exit_flushed

        exit_flushed(rc)


def _read_all(conn: socket.socket) -> bytes:
    chunks = []
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def run_claimed() -> int | None:
    """In a worker the runner started: hand this worker to a warm process and return its exit
    status, or None when there is none to claim (the caller runs Beam's worker itself)."""
    folder = os.environ.get(ENV)
    if not folder or not os.path.isdir(folder):
        return None
    for ready in sorted(Path(folder).glob("*.ready")):
        base = str(ready)[: -len(".ready")]
        try:
            os.rename(ready, base + ".claimed")
        except OSError:  # another worker claimed it first
            continue
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(base + ".sock")
        except OSError:  # it died after it was ready
            conn.close()
            continue
        with conn:
            conn.sendall(json.dumps({"env": dict(os.environ), "argv": sys.argv}).encode())
            conn.shutdown(socket.SHUT_WR)
            status = conn.recv(1)
        if not status:
            print(f"m6 worker: the warm worker {base} ended without an exit status",
                  file=sys.stderr)
            return 1
        return status[0]
    return None
