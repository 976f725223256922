"""Read a pretraining run folder (``m6 pretrain --output DIR``) into the curves the report draws.

The trainer writes ``metrics.jsonl`` (one JSON object per logged step, ``kind`` = ``train`` or
``val``; ``model/train/metrics.py``) and ``config.json`` (the run's full config). This module reads them
as plain JSON, without importing the trainer (no torch is needed to look at a run), streaming the
lines, and keeps per series only ``(step, value)`` pairs:

* losses: ``loss`` and ``loss_<task>`` of training steps, and of validation;
* ``lr``, ``grad_norm``, ``aux_loss``; ``tokens_per_s`` (logged every ``log_every`` steps);
* MoE layers (keys ``<layer>.dropped_frac``, ``<layer>.load_max_over_mean``,
  ``<layer>.tokens_per_expert``): dropped-token fraction and load imbalance per layer over the
  steps, and the tokens each expert received, summed over the run.

A run of N steps gives a few numbers per step, so a long run's curves are thinned to at most
``max_points`` evenly spaced points per series (the last point is always kept).
"""

from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from fsspec.core import url_to_fs

log = logging.getLogger(__name__)

MAX_POINTS = 600
MOE_SUFFIXES = ("dropped_frac", "load_max_over_mean")


class RunError(Exception):
    """The run folder is missing or holds no metrics: printed as is."""


@dataclass
class TrainingCurves:
    path: str
    config: dict[str, Any] | None = None
    train: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    val: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    moe: dict[str, dict[str, list[tuple[int, float]]]] = field(default_factory=dict)
    expert_tokens: dict[str, list[int]] = field(default_factory=dict)  # layer -> per expert
    steps: int = 0
    bad_lines: int = 0

    @property
    def tasks(self) -> list[str]:
        return sorted(k[len("loss_"):] for k in self.train if k.startswith("loss_"))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _thin(points: list[tuple[int, float]], max_points: int) -> list[tuple[int, float]]:
    if len(points) <= max_points:
        return points
    stride = len(points) / max_points
    out = [points[int(i * stride)] for i in range(max_points)]
    if out[-1] != points[-1]:
        out.append(points[-1])
    return out


def read_run(run: str, max_points: int = MAX_POINTS) -> TrainingCurves:
    """The curves of the run folder ``run`` (local or fsspec URL)."""
    fs, root = url_to_fs(run)
    path = root.rstrip("/") + "/metrics.jsonl"
    if not fs.exists(path):
        raise RunError(f"{run}: no metrics.jsonl there; is it the --output folder of "
                       "'m6 pretrain'?")
    curves = TrainingCurves(path=run)
    cfg_path = root.rstrip("/") + "/config.json"
    if fs.exists(cfg_path):
        try:
            config = json.loads(fs.cat_file(cfg_path))
        except ValueError:
            log.warning("report: %s is not valid JSON", cfg_path)
        else:
            curves.config = config if isinstance(config, dict) else None
    train: dict[str, list] = defaultdict(list)
    val: dict[str, list] = defaultdict(list)
    moe: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    experts: dict[str, list[int]] = {}
    with fs.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                step = int(rec["step"])
            except (ValueError, KeyError, TypeError):
                curves.bad_lines += 1  # a line cut by a crash: skip it, keep the rest
                continue
            target = val if rec.get("kind") == "val" else train
            if rec.get("kind") not in ("val", "train"):
                continue
            curves.steps = max(curves.steps, step)
            for key, value in rec.items():
                if key in ("step", "kind", "time"):
                    continue
                layer, _, name = key.rpartition(".")
                # a value of another type (null, a string, a count that is not a list) is
                # skipped like a cut line: one odd record must not cost the whole page
                if target is train and layer and name in MOE_SUFFIXES:
                    if _is_number(value):
                        moe[name][layer].append((step, float(value)))
                elif target is train and layer and name == "tokens_per_expert":
                    if isinstance(value, list) and all(_is_number(n) and math.isfinite(n)
                                                       for n in value):
                        acc = experts.setdefault(layer, [0] * len(value))
                        for i, n in enumerate(value[:len(acc)]):
                            acc[i] += int(n)
                elif "/" not in key and _is_number(value):
                    target[key].append((step, float(value)))
    if not train and not val:
        raise RunError(f"{path}: no training or validation records")
    curves.train = {k: _thin(v, max_points) for k, v in train.items()}
    curves.val = {k: _thin(v, max_points) for k, v in val.items()}
    curves.moe = {n: {layer: _thin(v, max_points) for layer, v in sorted(d.items())}
                  for n, d in moe.items()}
    curves.expert_tokens = dict(sorted(experts.items()))
    return curves
