"""Resuming the checkpoints that runs on several processes wrote before checkpoints became
``torch.distributed.checkpoint`` folders (format 1, ``model/train/checkpoint.py`` has format 2).

Format 1 was the single-process layout plus one small file per other rank:

    step_00000100/
      model.safetensors                 whole weights (rank 0's replica, gathered under FSDP, or
                                        the canonical MoE form with model-experts-<r>-of-<R>)
      optimizer.pt                      rank 0's optimiser state, the schedule, rank 0's RNG
      rank-<r>-of-<R>.pt                rank r >= 1: its RNG and, when the optimiser state is
                                        sharded (expert parallelism, FSDP), its own part
      trainer.json                      step, config, ``world_size``, every rank's data position
                                        (``data_by_rank``)

Its data positions, RNG states and optimiser parts belong to the ranks that wrote them, so it
resumes only with the same number of processes (``check_world_size`` says so in one line); the
first checkpoint the resumed run writes is of format 2 and reshards. Everything is read back
with ``torch.load(weights_only=True)`` or safetensors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from torch import nn

from model.distributed.parallel import ParallelPlan
from model.train.checkpoint import check_world_size, load_weights, set_rng_state, trainer_meta


def rank_file(ckpt: str | Path, rank: int, world: int) -> Path:
    return Path(ckpt) / f"rank-{rank:05d}-of-{world:05d}.pt"


def restore_legacy_distributed(
    ckpt: str | Path,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    plan: ParallelPlan,
    rank: int,
    device: torch.device,
) -> dict[str, Any]:
    """Load this rank's part of format-1 checkpoint ``ckpt``; returns trainer.json with
    ``data`` set to this rank's data position. Every rank calls it (FSDP loading is a
    collective)."""
    ckpt = Path(ckpt)
    meta = trainer_meta(ckpt)
    blobs = torch.load(ckpt / "optimizer.pt", map_location="cpu", weights_only=True)
    world = plan.world_size
    check_world_size(ckpt, meta, world)
    if plan.fsdp:
        _load_full_weights(model, ckpt / "model.safetensors", rank)
    else:
        load_weights(model, ckpt, device)
    mine = blobs
    if rank:
        mine = torch.load(rank_file(ckpt, rank, world), map_location="cpu", weights_only=True)
    optim = mine["optimizer"] if plan.sharded_optimizer else blobs["optimizer"]
    optimizer.load_state_dict(_distribute_optimizer_state(optim, optimizer))
    scheduler.load_state_dict(blobs["scheduler"])
    set_rng_state(mine["rng"])
    return {**meta, "data": meta["data_by_rank"][rank]}


# ---------------------------------------------------------------------- FSDP helpers


def _load_full_weights(model: nn.Module, path: Path, rank: int) -> None:
    """Rank 0 reads the file and FSDP scatters each rank its shard."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

    full = load_file(str(path)) if rank == 0 else {}
    if rank == 0:
        want = set(model.state_dict())
        missing, unexpected = sorted(want - set(full)), sorted(set(full) - want)
        if missing or unexpected:
            raise ValueError(f"checkpoint {path.parent} does not fit this model: missing "
                             f"{missing[:8]}, unexpected {unexpected[:8]} -- was it trained with "
                             "another config?")
    set_model_state_dict(model, full, options=StateDictOptions(full_state_dict=True,
                                                               broadcast_from_rank0=True))


def _distribute_optimizer_state(sd: dict[str, Any], optimizer: torch.optim.Optimizer
                                ) -> dict[str, Any]:
    """A format-1 optimiser part (plain local shards of the sharded parameters) with those
    shards as DTensors placed like their parameter again."""
    from torch.distributed.tensor import DTensor

    params = [p for g in optimizer.param_groups for p in g["params"]]
    state = {}
    for i, s in sd["state"].items():
        p = params[int(i)]
        if isinstance(p, DTensor):
            local_shape = p.to_local().shape
            s = {k: DTensor.from_local(v, p.device_mesh, p.placements, run_check=False,
                                       shape=p.shape, stride=p.stride())
                 if torch.is_tensor(v) and k != "step" and v.shape == local_shape else v
                 for k, v in s.items()}
        state[i] = s
    return {**sd, "state": state}
