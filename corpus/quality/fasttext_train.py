"""Train a fastText supervised model in a fresh process and load the result here.

fastText's trainer is native code that this process cannot protect itself from: in a process that
had run other numeric work first (Pillow and OpenCV image scoring in the test suite), training on
a small, well-behaved set failed with "Encountered NaN" at learning rates that train fine in a new
process (reproduced only inside a long pytest session, never alone). Training in a spawned process
gives the same model bytes every time (one thread, fixed seed) whatever ran before, and a crash in
native code becomes a Python error instead of taking the caller down.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from pathlib import Path
from typing import Any


def _train(out: str, kwargs: dict[str, Any]) -> str | None:
    import fasttext

    try:
        fasttext.train_supervised(**kwargs).save_model(out)
    except RuntimeError as e:  # e.g. "Encountered NaN" when training diverges
        return str(e)
    return None


def train_supervised_isolated(**kwargs: Any) -> Any:
    """``fasttext.train_supervised(**kwargs)`` run in a spawned process; returns the loaded model.

    Raises ``RuntimeError`` with fastText's message when training fails."""
    import fasttext

    ctx = multiprocessing.get_context("spawn")
    fd, out = tempfile.mkstemp(suffix=".bin", prefix="m6-fasttext-")
    os.close(fd)
    try:
        with ctx.Pool(1) as pool:
            error = pool.apply(_train, (out, kwargs))
        if error is not None:
            raise RuntimeError(error)
        return fasttext.load_model(out)
    finally:
        Path(out).unlink(missing_ok=True)
