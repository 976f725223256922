"""``m6 corpus --runner DaskRunner --dask_client_address=HOST:PORT`` on a dask.distributed cluster
started the way a user starts one (``dask scheduler`` and two ``dask worker`` processes from the
venv, none started by m6), with the workers in another working directory: every path given
relative to where ``m6 corpus`` runs (inputs, output, models, a word list) must reach the workers
resolved, and the output must be the DirectRunner's (issue 17 point 3). Slow: a cluster of three
processes and two corpus runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.cli import main as corpus_main
from pipelines.sink import KINDS

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
DASK = Path(sys.executable).parent / "dask"


def _rows(output: Path) -> dict[str, list]:
    import pyarrow.parquet as pq

    return {kind: sorted(json.dumps(r, sort_keys=True, default=repr)
                         for r in pq.read_table(output / kind).to_pylist()) for kind in KINDS}


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and two single-threaded workers on 127.0.0.1, the workers running in
    ``tmp_path/elsewhere``; yields the scheduler's address."""
    from distributed import Client

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's code, as an image installs it
    sched_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(sched_file)],
                              cwd=elsewhere, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    try:
        deadline = time.time() + 30
        while not sched_file.exists() and time.time() < deadline:
            time.sleep(0.1)
        for i in range(2):
            procs.append(subprocess.Popen(
                [str(DASK), "worker", "--scheduler-file", str(sched_file), "--nthreads", "1",
                 "--no-dashboard", "--local-directory", str(elsewhere / f"w{i}")],
                cwd=elsewhere, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with Client(scheduler_file=str(sched_file), timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
            # the workers really are elsewhere: a relative path there is not this checkout's
            cwds = set(client.run(os.getcwd).values())
            address = client.scheduler.address
        assert cwds == {str(elsewhere)}
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.mark.slow
def test_dask_cluster_with_workers_elsewhere_gives_the_direct_runner_output(
        cluster, tmp_path, monkeypatch):
    from corpus.quality.spam_cli import main as spam_main

    project = tmp_path / "project"  # where the user runs `make corpus`
    (project / "input").mkdir(parents=True)
    for dump in sorted((SAMPLE / "dumps").glob("*.jsonl")):
        shutil.copy(dump, project / "input" / dump.name)
    (project / "lists").mkdir()
    # a word of the sample's dumps, so the list really is read on the workers
    (project / "lists" / "mine.txt").write_text("熊猫\n", encoding="utf-8")
    monkeypatch.chdir(project)
    assert spam_main(["train", "--input", str(SAMPLE / "spam/labelled.jsonl"),
                      "--out", "models/spam.bin"]) == 0
    common = ["--input", "input", "--quiet", "--no-report",
              "--set", "quality.spam.model=models/spam.bin",
              "--set", "quality.badwords.lists=zh,en,mine=lists/mine.txt"]

    assert corpus_main([*common, "--output", "direct"]) == 0
    assert corpus_main([*common, "--output", "dask", "--runner", "DaskRunner",
                        f"--dask_client_address={cluster}"]) == 0

    direct, dask = _rows(project / "direct"), _rows(project / "dask")
    assert direct["text"] and dask == direct
    assert (json.loads((project / "dask" / "stats.json").read_text())
            == json.loads((project / "direct" / "stats.json").read_text()))
    reasons = {json.loads(r)["reason"] for r in dask["rejected"]}
    assert "badwords:mine" in reasons
    config = json.loads((project / "dask" / "config.json").read_text())
    assert config["quality"]["spam"]["model"] == str(project / "models" / "spam.bin")
    inputs = {json.loads(r)["input_file"] for r in dask["text"]}
    assert inputs <= {str(project / "input" / p.name) for p in (project / "input").iterdir()}
