"""A throw-away ``dask.distributed`` cluster on 127.0.0.1 for ``m6 corpus --runner DaskRunner``
when the user gives no ``--dask_client_address``: started before the pipeline, closed after it,
so ``make corpus RUNNER=DaskRunner`` works on a laptop with nothing running beforehand.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

log = logging.getLogger(__name__)


@contextlib.contextmanager
def local_dask_cluster(workers: int) -> Iterator[str]:
    """Start a local cluster with ``workers`` single-threaded worker processes; yield its address."""
    from distributed import LocalCluster

    for noisy in ("distributed", "tornado", "bokeh"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)
    log.info("started a local dask cluster at %s with %d workers", cluster.scheduler_address,
             max(1, workers))
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()
        log.info("stopped the local dask cluster")
