"""Training metrics a person can read and plot: one JSON line per record, and TensorBoard.

Each ``log(step, values, kind)`` appends ``{"step", "kind", "time", **values}`` to
``metrics.jsonl`` (flushed, so ``tail -f`` and a crash both see it) and writes every number as a
TensorBoard scalar under ``<kind>/<name>`` (``train/loss``, ``train/loss_lm``, ``val/loss``,
``train/tokens_per_s``, ``train/lr``, ...). On resume the file is appended to; records past the
resumed step are dropped first, so the file reads as one uninterrupted run. With ``wandb`` options
the same scalars also go to Weights & Biases (``model/train/wandb_log.py``, optional).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from model.train.wandb_log import WandbOptions


class MetricsLogger:
    def __init__(self, out_dir: str | Path, *, resume_step: int | None = None,
                 tensorboard: bool = True, wandb: WandbOptions | None = None,
                 run_config: dict[str, Any] | None = None):
        self.dir = Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "metrics.jsonl"
        if resume_step is not None and self.path.exists():
            kept = [
                line for line in self.path.read_text().splitlines()
                if line.strip() and json.loads(line).get("step", 0) <= resume_step
            ]
            self.path.write_text("".join(k + "\n" for k in kept))
        elif resume_step is None and self.path.exists():
            self.path.unlink()
        self._f = open(self.path, "a", encoding="utf-8")
        self._tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.dir / "tensorboard"), purge_step=resume_step)
        self._wandb = None
        if wandb is not None:
            from model.train.wandb_log import WandbSink

            self._wandb = WandbSink(wandb, self.dir, run_config or {})

    def log(self, step: int, values: dict[str, Any], kind: str = "train") -> None:
        record = {"step": step, "kind": kind, "time": round(time.time(), 3), **values}
        self._f.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._f.flush()
        if self._tb is not None:
            for k, v in values.items():
                if isinstance(v, (int, float)) and math.isfinite(v):
                    self._tb.add_scalar(f"{kind}/{k}", v, step)
        if self._wandb is not None:
            self._wandb.log(step, values, kind)

    def close(self) -> None:
        self._f.close()
        if self._tb is not None:
            self._tb.flush()
            self._tb.close()
        if self._wandb is not None:
            self._wandb.close()


def read_metrics(path: str | Path, kind: str | None = None) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl``, optionally only those of one kind."""
    out = []
    for line in Path(path).read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            if kind is None or rec.get("kind") == kind:
                out.append(rec)
    return out
