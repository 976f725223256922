"""Build the report file: collect the figures, render the page, write it atomically.

``write_report(corpus, out=None, run=None)`` is what ``m6 report`` and the end of ``m6 corpus``
call. The page is written to a temporary file beside ``out`` and renamed into place (a reader
never sees half a page); ``out`` defaults to ``<corpus>/report.html`` and may be any fsspec URL
(written in one put there).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fsspec.core import url_to_fs

from corpus.inspect.files import InspectError
from report.collect import collect
from report.page import render
from report.thresholds import thresholds
from report.training import read_run
from schemas.layout import REPORT_FILE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Written:
    path: str
    bytes: int
    seconds: float


def write_report(corpus: str, out: str | None = None, run: str | None = None,
                 samples: int | None = None, allow_incomplete: bool = False) -> Written:
    """Write the report of the corpus folder ``corpus`` (and run folder ``run``) to ``out``."""
    t0 = time.perf_counter()
    out = out or corpus.rstrip("/") + "/" + REPORT_FILE
    fs, path = url_to_fs(out)
    if fs.isdir(path):  # said before a long read, not after it
        raise InspectError(f"{out} is a folder; give --out a file name (such as "
                           f"{out.rstrip('/')}/{REPORT_FILE})")
    figs = collect(corpus, allow_incomplete=allow_incomplete,
                   **({"samples": samples} if samples is not None else {}))
    curves = read_run(run) if run else None
    html = render(figs, thresholds(figs.config), curves).encode("utf-8")
    _write_atomic(out, html)
    written = Written(out, len(html), time.perf_counter() - t0)
    log.debug("report: wrote %s (%d KB) in %.2f s", out, len(html) // 1024, written.seconds)
    return written


def _write_atomic(out: str, data: bytes) -> None:
    """Write ``data`` to ``out``; a place that cannot take it is the user's error (InspectError:
    printed as is), not a traceback."""
    fs, path = url_to_fs(out)
    try:
        _write(fs, path, data)
    except OSError as e:
        raise InspectError(f"cannot write the report to {out} ({e.strerror or e})") from e


def _write(fs: Any, path: str, data: bytes) -> None:
    if "file" not in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)):
        fs.pipe_file(path, data)  # object stores: a single put is atomic
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
