"""Checkpoints that resume exactly and load without unpickling code.

A checkpoint is a folder ``<run>/checkpoints/step_00000100/`` holding

- ``model.safetensors``: the weights (tied tensors stored once, by ``safetensors.torch.save_model``);
- ``optimizer.pt``: optimiser and scheduler state, RNG states, as plain tensors and containers,
  read back with ``torch.load(weights_only=True)`` -- never plain pickle;
- ``trainer.json``: step, data-loader state, metrics so far, and the resolved run config.

It is written to a temporary folder that is renamed into place (an atomic step on POSIX), and
``latest`` (a one-line text file, replaced atomically too) names the newest complete checkpoint.
A crash mid-write leaves at most a ``*.tmp`` folder, which the next save removes; older
checkpoints beyond ``keep`` are pruned only after the new one is in place.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_model, save_model

from model.train.moe_checkpoint import has_experts, load_sharded, save_sharded

LATEST = "latest"


def rng_state() -> dict[str, Any]:
    state = {
        "torch": torch.get_rng_state(),
        "numpy": _numpy_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _numpy_state() -> tuple:
    kind, key, pos, has_gauss, gauss = np.random.get_state()
    return (kind, torch.from_numpy(key.astype(np.int64)), int(pos), int(has_gauss), float(gauss))


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    kind, key, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.asarray(key.numpy(), dtype=np.uint32), pos, has_gauss, gauss))
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(
    root: str | Path,
    step: int,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    trainer_state: dict[str, Any],
    keep: int = 2,
) -> Path:
    """Write checkpoint ``step`` under ``root`` atomically; returns its folder."""
    tmp = begin_checkpoint(root, step)
    if has_experts(model):  # per-expert tensors under global indices: any expert-parallel layout loads them
        save_sharded(model, tmp)
    else:
        save_model(model, str(tmp / "model.safetensors"))
    torch.save(
        {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
         "rng": rng_state()},
        tmp / "optimizer.pt",
    )
    (tmp / "trainer.json").write_text(json.dumps(trainer_state, indent=1, ensure_ascii=False))
    return publish_checkpoint(tmp, keep)


def begin_checkpoint(root: str | Path, step: int) -> Path:
    """A fresh ``step_XXXXXXXX.tmp`` folder under ``root`` to write checkpoint ``step`` into
    (debris of earlier crashed writes removed)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob("*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = root / f"step_{step:08d}.tmp"
    tmp.mkdir()
    return tmp


def publish_checkpoint(tmp: Path, keep: int = 2) -> Path:
    """Sync the files of ``tmp`` (from ``begin_checkpoint``), rename it into place, point
    ``latest`` at it and prune all but the ``keep`` newest; returns the final folder."""
    root = tmp.parent
    final = tmp.with_name(tmp.name.removesuffix(".tmp"))
    for f in tmp.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    latest_tmp = root / (LATEST + ".tmp-file")
    latest_tmp.write_text(final.name + "\n")
    latest_tmp.replace(root / LATEST)
    _fsync_dir(root)
    done = sorted(p for p in root.glob("step_*") if p.is_dir() and not p.name.endswith(".tmp"))
    for old in done[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(root: str | Path) -> Path | None:
    """The newest complete checkpoint under ``root`` (a run folder's ``checkpoints/``), if any."""
    root = Path(root)
    marker = root / LATEST
    if not marker.is_file():
        return None
    path = root / marker.read_text().strip()
    return path if (path / "model.safetensors").is_file() else None


def resolve_checkpoint(path: str | Path) -> Path:
    """Accept a checkpoint folder, a ``checkpoints/`` folder or a run folder."""
    p = Path(path)
    if (p / "model.safetensors").is_file():
        return p
    for cand in (p, p / "checkpoints"):
        found = latest_checkpoint(cand)
        if found is not None:
            return found
    raise FileNotFoundError(
        f"no checkpoint at {p}: pass a run folder (e.g. out/pretrain), its checkpoints/ folder, "
        "or a checkpoints/step_XXXXXXXX folder"
    )


def load_weights(model: torch.nn.Module, ckpt: str | Path, device: str | torch.device = "cpu") -> None:
    """Load ``model.safetensors`` into ``model``; a missing or unexpected tensor is an error."""
    if has_experts(model):  # MoE: canonical expert tensors, strict about every expert
        load_sharded(model, ckpt)
        return
    missing, unexpected = load_model(model, str(Path(ckpt) / "model.safetensors"), strict=False,
                                     device=str(device))
    if missing or unexpected:
        raise ValueError(
            f"checkpoint {ckpt} does not fit this model: missing {sorted(missing)[:8]}, "
            f"unexpected {sorted(unexpected)[:8]} -- was it trained with another config?"
        )


def load_training_state(ckpt: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(optimizer.pt contents, trainer.json contents) of checkpoint ``ckpt``."""
    ckpt = Path(ckpt)
    blobs = torch.load(ckpt / "optimizer.pt", map_location="cpu", weights_only=True)
    return blobs, trainer_meta(ckpt)


def trainer_meta(ckpt: str | Path) -> dict[str, Any]:
    """``trainer.json`` of checkpoint ``ckpt`` (step, config, ...) without the optimiser."""
    return json.loads((Path(ckpt) / "trainer.json").read_text())


def tokenizer_file(ckpt: str | Path) -> Path:
    """The tokenizer saved with checkpoint ``ckpt``, else its run folder's ``tokenizer.json``."""
    ckpt = Path(ckpt)
    path = ckpt / "tokenizer.json"
    return path if path.is_file() else ckpt.parent.parent / "tokenizer.json"


def check_world_size(ckpt: str | Path, meta: dict[str, Any], world_size: int) -> None:
    """Refuse to resume checkpoint ``ckpt`` (``trainer.json`` contents ``meta``) with another
    number of processes than wrote it: data positions and optimiser parts are per process."""
    written_by = int(meta.get("world_size", 1))
    if written_by != world_size:
        raise ValueError(
            f"checkpoint {ckpt} was written by {written_by} processes and this run has "
            f"{world_size}: resume with the same number (make pretrain NPROC={written_by}); "
            "each process's data position and optimiser part are its own"
        )


def read_config(ckpt: str | Path) -> dict[str, Any]:
    """The resolved run config saved with checkpoint ``ckpt``."""
    return trainer_meta(ckpt)["config"]
