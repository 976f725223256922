"""Checkpoints of a run on several processes: the single-process layout of
``model/train/checkpoint.py`` plus one small file per other rank, written together and published
atomically by rank 0.

    step_00000100/
      model.safetensors                 whole weights: rank 0's replica (data parallel), gathered
                                        from the shards (FSDP), or the canonical non-expert
                                        tensors + rank 0's experts (MoE, model/train/moe_checkpoint.py)
      model-experts-<r>-of-<R>.safetensors   rank r's experts (MoE under expert parallelism)
      optimizer.pt                      rank 0's optimiser state (the whole state under plain
                                        data parallelism, where replicas are identical), the
                                        schedule, rank 0's RNG
      rank-<r>-of-<R>.pt                rank r >= 1: its RNG and, when the optimiser state is
                                        sharded (expert parallelism, FSDP), its own part
      trainer.json                      step, config, ``world_size``, rank 0's data position
                                        (``data``) and every rank's (``data_by_rank``)
      tokenizer.json

The weights are portable: one process loads them (``m6 generate``, ``load_weights``), and so does
any number of ranks. What else is there -- data positions, RNG states, sharded optimiser state --
belongs to the ranks that wrote it, so resuming needs the same number of processes (the trainer
says so). Everything is read back with ``torch.load(weights_only=True)`` or safetensors.

Protocol: rank 0 makes a fresh ``*.tmp`` folder; barrier; every rank writes its files into it
(under FSDP the full weights are gathered to rank 0, a collective); barrier; rank 0 writes
``optimizer.pt``, ``trainer.json`` and the tokenizer, syncs, renames the folder into place and
moves ``latest`` (``checkpoint.publish_checkpoint``); barrier. A kill at any moment leaves
``latest`` at the previous complete checkpoint or at the new complete one, never at a part.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file, save_model
from torch import nn

from model.distributed.parallel import ParallelPlan, all_gather_object, barrier
from model.train.checkpoint import (
    begin_checkpoint,
    check_world_size,
    load_training_state,
    load_weights,
    publish_checkpoint,
    rng_state,
    set_rng_state,
)
from model.train.moe_checkpoint import has_experts, save_sharded


def rank_file(ckpt: str | Path, rank: int, world: int) -> Path:
    return Path(ckpt) / f"rank-{rank:05d}-of-{world:05d}.pt"


def save_distributed(
    root: str | Path,
    step: int,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    plan: ParallelPlan,
    rank: int,
    trainer_state: dict[str, Any],
    data_state: dict[str, Any],
    tokenizer_path: str | Path,
    keep: int = 2,
) -> Path | None:
    """Every rank calls this at the same step; returns the folder on rank 0, None elsewhere.
    ``trainer_state`` is rank 0's (step, config, ...); ``data_state`` this rank's position."""
    world = plan.world_size
    tmp = begin_checkpoint(root, step) if rank == 0 else Path(root) / f"step_{step:08d}.tmp"
    data_by_rank = all_gather_object(data_state)  # also the barrier after rank 0's mkdir
    if plan.fsdp:
        full = _full_weights(model)  # collective; rank 0 gets the tensors
        if rank == 0:
            save_file({k: v.contiguous() for k, v in full.items()}, str(tmp / "model.safetensors"))
    elif has_experts(model):
        save_sharded(model, tmp, rank, world)
    elif rank == 0:
        save_model(model, str(tmp / "model.safetensors"))
    optim = _local_optimizer_state(optimizer) if plan.sharded_optimizer or rank == 0 else None
    if rank:
        blob: dict[str, Any] = {"rng": rng_state()}
        if plan.sharded_optimizer:
            blob["optimizer"] = optim
        torch.save(blob, rank_file(tmp, rank, world))
    barrier()
    final = None
    if rank == 0:
        torch.save({"optimizer": optim, "scheduler": scheduler.state_dict(), "rng": rng_state()},
                   tmp / "optimizer.pt")
        meta = {**trainer_state, "world_size": world, "data": data_by_rank[0],
                "data_by_rank": data_by_rank, "parallel": {"expert_parallel": plan.expert_parallel,
                                                           "fsdp": plan.fsdp}}
        (tmp / "trainer.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False))
        shutil.copyfile(tokenizer_path, tmp / "tokenizer.json")
        final = publish_checkpoint(tmp, keep)
    barrier()
    return final


def restore_distributed(
    ckpt: str | Path,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    plan: ParallelPlan,
    rank: int,
    device: torch.device,
) -> dict[str, Any]:
    """Load this rank's part of checkpoint ``ckpt``; returns trainer.json with ``data`` set to
    this rank's data position. Every rank calls it (FSDP loading is a collective)."""
    ckpt = Path(ckpt)
    blobs, meta = load_training_state(ckpt)
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


def _full_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True,
                                                                cpu_offload=True))


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


def _local_optimizer_state(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """``optimizer.state_dict()`` with FSDP's sharded tensors (DTensor) as this rank's plain
    local shards, so ``torch.load(weights_only=True)`` reads it back."""
    sd = optimizer.state_dict()
    state = {i: {k: _local(v) for k, v in s.items()} for i, s in sd["state"].items()}
    return {**sd, "state": state}


def _local(v: Any) -> Any:
    to_local = getattr(v, "to_local", None)
    return to_local() if callable(to_local) else v


def _distribute_optimizer_state(sd: dict[str, Any], optimizer: torch.optim.Optimizer
                                ) -> dict[str, Any]:
    """The inverse of ``_local_optimizer_state``: local shards of sharded parameters become
    DTensors placed like their parameter again."""
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
