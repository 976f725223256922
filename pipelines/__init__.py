"""Beam wiring: DoFns and PTransforms that run corpus stages, pipeline options, runners and sinks.

Importing Beam without its GCP extras logs "apitools not found ..." on the root logger; that
notice says nothing to a user of local, Dask, Flink or Spark runners, so it is filtered out here,
before anything in this package imports Beam.
"""

import logging


class _DropGcpExtrasNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "apitools not found" not in record.getMessage()


logging.getLogger().addFilter(_DropGcpExtrasNotice())
