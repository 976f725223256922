"""The worker process of ``m6 corpus --workers N`` on the DirectRunner: Beam's own SDK worker
(``apache_beam.runners.worker.sdk_worker_main``), ended at once when the runner has closed it.

Why (issue 17.2): with ``direct_running_mode=multi_processing`` Beam's ``FnApiRunner`` closes its
worker processes one after another and waits for each to exit, and a worker that has run the
corpus pipeline spends about 0.4 s of CPU tearing its interpreter down (freeing the models, the
dictionaries and every cached object it loaded): on 2 cores, about 0.8 s at the end of every run
with 2 workers, with nothing left to do. Here, once the harness has returned (every bundle is done
and the runner has said so), the logs are flushed and the process exits without that teardown.
A worker that fails still raises, and exits with Beam's error.

``pipelines.options`` starts it as Beam's ``SubprocessSDKEnvironment``, the environment that
``multi_processing`` mode would have given with Beam's module in place of this one. When ``m6
corpus`` started warm workers before it built the pipeline (``pipelines.warm_workers``), this
process hands itself to one of them and exits with its status (``exit_flushed`` ends both).
"""

from __future__ import annotations

import logging
import os
import sys


def exit_flushed(rc: int) -> None:
    """End this worker process with status ``rc``: logs and output flushed, no teardown."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)


def main() -> None:
    from pipelines import warm_workers

    rc = warm_workers.run_claimed()
    if rc is not None:
        exit_flushed(rc)
    from apache_beam.runners.worker import sdk_worker_main

    sdk_worker_main.main(sys.argv)
    exit_flushed(0)


if __name__ == "__main__":
    main()
