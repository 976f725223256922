"""Choose the Beam runner and build ``PipelineOptions`` from ``--runner``, ``--workers`` and the
flags the user passed through.

Defaults that make each runner work out of the box here (README, "Running at scale"):

- ``DirectRunner``: Beam's ``FnApiRunner``, handed over as an instance. By name, Beam 2.77's
  DirectRunner first tries the Prism runner: it downloads a Go binary (where there is a network,
  the run then goes to another runner than the one the README describes; where there is none,
  the attempt costs about a second and leaves two empty folders in the temp directory for each
  run) and falls back to the ``FnApiRunner``. 1 worker runs in-process; N workers get
  ``direct_num_workers=N`` and run as N processes of ``pipelines.worker`` (Beam's SDK worker,
  which exits without tearing its interpreter down: ``worker_environment``), as
  ``direct_running_mode=multi_processing`` would start Beam's; a ``--direct_running_mode`` the
  user gives is Beam's, unchanged.
- ``PortableRunner``: ``--job_endpoint=embed --environment_type=LOOPBACK`` unless given.
- ``DaskRunner``: ``--dask_client_address`` is required (``m6 corpus --runner DaskRunner``
  without one starts a local ``dask.distributed`` cluster, ``pipelines.dask_local``, and passes
  it); ``--dask_partition_size=1`` (one input file per partition) unless a partition flag is given; ``pipelines.dask_runner.DaskRunner`` (Beam's,
  with bounded partitions and its client closed at the end).
- Any other runner (Dataflow, Spark, Flink): the flags are passed untouched.

A flag the user gave always wins over a default added here.
"""

from __future__ import annotations

import logging
import shlex
import sys
from typing import Any

from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.warm_workers import uses_worker_processes


def _has(flags: list[str], name: str) -> bool:
    return any(f == f"--{name}" or f.startswith(f"--{name}=") for f in flags)


def worker_environment():
    """The environment of ``--workers N``: one ``pipelines.worker`` process per worker (what
    ``direct_running_mode=multi_processing`` starts, with Beam's worker module)."""
    from apache_beam.transforms.environments import SubprocessSDKEnvironment

    return SubprocessSDKEnvironment.from_command_string(
        f"{shlex.quote(sys.executable)} -m pipelines.worker")


class _DropModeWarning(logging.Filter):
    """The FnApiRunner warns that N workers want ``multi_processing`` mode whenever the mode is
    not set; with ``worker_environment`` they run in separate processes all the same."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "direct_running_mode" not in record.getMessage()


def _quiet_mode_warning() -> None:
    log = logging.getLogger("apache_beam.runners.portability.fn_api_runner.fn_runner")
    if not any(isinstance(f, _DropModeWarning) for f in log.filters):
        log.addFilter(_DropModeWarning())


def pipeline_runner_and_options(runner: str, workers: int,
                                beam_args: list[str]) -> tuple[Any, PipelineOptions]:
    """The runner (a name or an instance) and options for ``beam.Pipeline``."""
    flags = list(beam_args)
    if runner in ("DirectRunner", "direct"):
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        if workers > 1 and not _has(flags, "direct_num_workers"):
            flags.append(f"--direct_num_workers={workers}")
        if uses_worker_processes(runner, workers, flags):
            # multi_processing mode, with pipelines.worker in place of Beam's worker module
            _quiet_mode_warning()
            return FnApiRunner(default_environment=worker_environment()), PipelineOptions(flags)
        return FnApiRunner(), PipelineOptions(flags)
    if runner == "PortableRunner":
        if not _has(flags, "job_endpoint"):
            flags.append("--job_endpoint=embed")
        if not _has(flags, "environment_type"):
            flags.append("--environment_type=LOOPBACK")
        return runner, PipelineOptions(flags)
    if runner == "DaskRunner":
        if not _has(flags, "dask_client_address"):
            raise ValueError("DaskRunner needs --dask_client_address=HOST:PORT of a running "
                             "dask.distributed scheduler (make corpus RUNNER=DaskRunner starts one)")
        if not (_has(flags, "dask_partition_size") or _has(flags, "dask_npartitions")):
            # one input file per partition, so files are read in parallel (Reshuffle is a
            # no-op on Dask); flattened bags are cut back by pipelines.dask_runner
            flags.append("--dask_partition_size=1")
        from pipelines.dask_runner import DaskRunner  # stock runner + bounded partitions

        return DaskRunner(), PipelineOptions(flags)
    return runner, PipelineOptions(flags)
