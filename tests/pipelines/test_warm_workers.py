"""``m6 corpus --workers N`` forks its workers before it builds the pipeline
(``pipelines/warm_workers.py``): the runner's workers hand themselves to them and the shards are
byte for byte those of one in-process worker; a warm process nobody claims ends when the pool is
closed, or by itself when the driver dies, leaving no files; with nothing to claim a worker runs
Beam's harness itself."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from pipelines import warm_workers
from pipelines.sink import KINDS

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
USED = "workers: 2 of 2 forked before the pipeline was built were used"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="warm workers are forked on Linux only")


def _m6(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, TMPDIR=str(tmp), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "m6.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def _shards(output: Path) -> dict[str, bytes]:
    return {str(p.relative_to(output)): p.read_bytes()
            for kind in KINDS for p in sorted((output / kind).rglob("*.parquet"))}


@pytest.mark.slow
def test_two_forked_workers_run_the_pipeline_and_write_the_same_shards(tmp_path):
    inp = tmp_path / "input"
    inp.mkdir()
    crawl = sorted((SAMPLE / "crawl").glob("*.warc.gz"))[0]
    (inp / crawl.name).symlink_to(crawl)
    dump = sorted((SAMPLE / "dumps").glob("*.jsonl"))[0]
    (inp / dump.name).symlink_to(dump)
    temp = tmp_path / "temp"
    temp.mkdir()
    runs = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        done = _m6("corpus", "--input", str(inp), "--output", str(out), "--workers",
                   str(workers), "--no-report", tmp=temp)
        assert done.returncode == 0, done.stderr[-3000:]
        runs[workers] = (done.stderr, _shards(out))
    assert USED not in runs[1][0]  # one in-process worker: nothing forked
    assert USED in runs[2][0]  # both of the runner's workers were the forked ones
    assert runs[1][1] and any(k.startswith("text/") for k in runs[1][1])
    assert runs[2][1] == runs[1][1]
    assert not list(temp.glob("m6-workers-*"))  # the pool's folder is removed at exit


_POOL = """
import os, sys, time
from pathlib import Path
from pipelines import warm_workers as w
w.prestart(["--input", "x", "--workers", "2"])
deadline = time.monotonic() + 30
while len(list(Path(w._pool.folder).glob("*.ready"))) < 2 and time.monotonic() < deadline:
    time.sleep(0.05)
ready = len(list(Path(w._pool.folder).glob("*.ready")))
print(ready, w._pool.folder, *w._pool.pids, flush=True)
if sys.argv[1] == "close":
    w.close()
    print("closed", flush=True)
else:
    os._exit(0)  # the driver dies without closing the pool
"""


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize("how", ["close", "die"])
def test_unclaimed_warm_workers_end_with_the_pool_or_the_driver(tmp_path, how):
    done = subprocess.run([sys.executable, "-c", _POOL, how], cwd=ROOT, capture_output=True,
                          text=True, timeout=120,
                          env=dict(os.environ, TMPDIR=str(tmp_path), PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr[-3000:]
    ready, folder, *pids = done.stdout.splitlines()[0].split()
    assert ready == "2" and len(pids) == 2
    assert Path(folder).parent == tmp_path
    if how == "close":
        assert done.stdout.strip().endswith("closed")
    deadline = time.monotonic() + 10  # an orphan notices within _POLL_S
    while not all(_gone(int(p)) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(_gone(int(p)) for p in pids)
    assert not Path(folder).exists()  # closed: removed by the pool; orphans: by the last one


def test_with_nothing_to_claim_a_worker_runs_beams_harness_itself(tmp_path, monkeypatch):
    monkeypatch.delenv(warm_workers.ENV, raising=False)
    assert warm_workers.run_claimed() is None
    monkeypatch.setenv(warm_workers.ENV, str(tmp_path))  # a pool whose processes are all taken
    (tmp_path / "0.claimed").touch()
    assert warm_workers.run_claimed() is None
    monkeypatch.setenv(warm_workers.ENV, str(tmp_path / "gone"))
    assert warm_workers.run_claimed() is None


def test_only_the_direct_runner_with_worker_processes_forks():
    assert warm_workers.uses_worker_processes("DirectRunner", 2, [])
    assert not warm_workers.uses_worker_processes("DirectRunner", 1, [])
    assert not warm_workers.uses_worker_processes("DaskRunner", 2, [])
    assert not warm_workers.uses_worker_processes("DirectRunner", 2,
                                                  ["--direct_running_mode=multi_threading"])
