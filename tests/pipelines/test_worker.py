"""``--workers N`` on the DirectRunner runs N processes of ``pipelines.worker`` (Beam's SDK worker,
which exits without tearing its interpreter down): a real two-worker pipeline sees its elements
processed in two other processes whose main module is ``pipelines.worker``, gets every element
back, and leaves no worker process behind and no warning about the running mode."""

from __future__ import annotations

import logging
import os
import sys

import apache_beam as beam
import psutil

from pipelines.options import pipeline_runner_and_options


def _where(x: int) -> tuple[int, int, str]:
    main = sys.modules["__main__"]
    spec = getattr(main, "__spec__", None)
    return x, os.getpid(), spec.name if spec else ""


def test_two_workers_are_pipelines_worker_processes_and_exit(caplog):
    runner, options = pipeline_runner_and_options("DirectRunner", 2, [])
    with caplog.at_level(logging.WARNING):
        with beam.Pipeline(runner=runner, options=options) as p:
            (p | beam.Create(range(200)) | beam.Reshuffle() | beam.Map(_where)
             | beam.combiners.ToList()
             | beam.Map(_check, driver=os.getpid()))
    assert not [r for r in caplog.records if "direct_running_mode" in r.getMessage()]
    assert not [c for c in psutil.Process().children(recursive=True)
                if "pipelines.worker" in " ".join(c.cmdline())]


def _check(seen, driver: int):
    assert sorted(x for x, _, _ in seen) == list(range(200))
    assert {main for _, _, main in seen} == {"pipelines.worker"}
    pids = {pid for _, pid, _ in seen}
    assert driver not in pids
    assert 1 <= len(pids) <= 2
