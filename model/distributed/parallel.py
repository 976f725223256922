"""Training on several processes: the process group torchrun describes, and how the model's
parameters are spread over it. Distribution lives here, beside the model, never inside it
(torchtitan's ``parallelize`` step): ``M6Model`` is built the ordinary way, with the same seed
on every rank, and ``parallelize`` turns it into its distributed form before the optimiser is
created.

Three layouts, chosen by ``plan_for`` from the run config and the world size:

- data parallelism (dense parameters, the default): every rank holds the whole model (rank 0's
  weights are broadcast once) and reads its own part of the shards (``model/data/dataset.py`` splits
  by rank); after backward the gradients are averaged over the ranks in bucketed all-reduces
  (``model.distributed.expert_grads.sync_gradients``), so R ranks step exactly like one process that
  accumulates the same R batches (``--workers R --grad-accum R``; a test checks the losses).
- expert parallelism (MoE parameters, whenever the model has MoE layers): each rank keeps its
  slice of every MoE layer's experts and tokens travel to them by all-to-all
  (``model.distributed.expert_parallel``, M6 section 3.4); everything else is data parallel as above, and
  gradient clipping is local for the experts (``model.distributed.expert_grads.clip_grad_norms``).
- FSDP (``TrainConfig.fsdp``, for the large dense presets): torch's ``fully_shard`` (FSDP2) on
  every block and on the root, so each rank stores 1/R of the parameters, gradients and AdamW
  state, and gathers a block's weights only while it runs. Gradients are reduce-scattered by
  FSDP itself (averaged over ranks, as above). A parameter that one rank used and another did not
  would desynchronise FSDP's reduce-scatter, so under FSDP a batch without any image gets blank,
  masked-out images (``with_blank_images``): the patch encoder then runs on every rank, its
  outputs are padding and change nothing, and its gradient is zero instead of missing. When no
  rank saw an image in a step, ``drop_unused_image_grads`` sets those zero gradients back to
  None, so AdamW skips the encoder as one process would (no decay, no momentum step).

Backends: NCCL when the device is a GPU (one GPU per rank, ``cuda:LOCAL_RANK``), gloo on CPU.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from model.config import RunConfig
from model.data.batch import Batch
from model.distributed.expert_grads import (
    broadcast_dense_parameters,
    clip_grad_norms,
    sync_gradients,
)
from model.distributed.expert_parallel import shard_experts

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------- process group


@dataclass(frozen=True)
class DistEnv:
    """Where this process stands in the job: torchrun's RANK, WORLD_SIZE and LOCAL_RANK."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> DistEnv:
        """The variables torchrun sets for each worker; one process when they are absent."""
        env = os.environ if environ is None else environ
        try:
            world = int(env.get("WORLD_SIZE", "1"))
            rank = int(env.get("RANK", "0"))
            local = int(env.get("LOCAL_RANK", str(rank)))
        except ValueError as e:
            raise ValueError(f"torchrun variables RANK/WORLD_SIZE/LOCAL_RANK are not integers: {e}"
                             ) from None
        if not 0 <= rank < world:
            raise ValueError(f"RANK {rank} is outside 0..WORLD_SIZE-1 ({world}); start "
                             "several processes with torchrun, not by setting these by hand")
        return cls(rank, world, local)


def init_process_group(env: DistEnv, device: str | torch.device,
                       timeout_s: float = 1800.0) -> torch.device:
    """Join the group torchrun set up (MASTER_ADDR/MASTER_PORT in the environment): NCCL for
    GPUs, gloo for CPU. Returns this rank's device (``cuda:LOCAL_RANK`` for a GPU run)."""
    device = torch.device(device)
    if device.type == "cuda":
        if torch.cuda.device_count() <= env.local_rank:
            raise ValueError(f"local rank {env.local_rank} has no GPU ({torch.cuda.device_count()} "
                             "visible): start at most one process per GPU (--nproc_per_node)")
        device = torch.device("cuda", env.local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, rank=env.rank, world_size=env.world_size,
                                timeout=timedelta(seconds=timeout_s))
    log.info("rank %d of %d on %s (%s)", env.rank, env.world_size, device, backend)
    return device


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_initialized() and dist.get_world_size() > 1:
        dist.barrier()


def all_gather_object(obj: Any) -> list[Any]:
    """Every rank's ``obj`` (small picklable values: data positions, counts)."""
    if not dist.is_initialized():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


# ---------------------------------------------------------------------- layout


@dataclass(frozen=True)
class ParallelPlan:
    world_size: int = 1
    expert_parallel: bool = False  # MoE experts split over the ranks
    fsdp: bool = False  # dense parameters sharded with fully_shard instead of replicated

    @property
    def sharded_optimizer(self) -> bool:
        """Whether each rank's optimiser state differs (its experts, its FSDP shard), so every
        rank must save its own; plain data parallelism keeps identical replicas."""
        return self.expert_parallel or self.fsdp


def plan_for(cfg: RunConfig, world_size: int) -> ParallelPlan:
    """The layout of ``cfg`` on ``world_size`` ranks; a clear error for an impossible one."""
    moe = cfg.model.moe
    fsdp = cfg.train.fsdp and world_size > 1
    if moe is not None and world_size > 1:
        if moe.num_experts % world_size:
            raise ValueError(f"{moe.num_experts} experts cannot be split over {world_size} "
                             "processes: use a number of processes that divides num_experts")
        if fsdp:
            raise ValueError("--fsdp is for dense presets: an MoE model's experts are already "
                             "sharded by expert parallelism and its other weights are small; "
                             "run it without --fsdp")
    return ParallelPlan(world_size, expert_parallel=moe is not None and world_size > 1, fsdp=fsdp)


def parallelize(model: nn.Module, plan: ParallelPlan) -> nn.Module:
    """``model`` in the layout of ``plan`` (in place). Call before building the optimiser."""
    if plan.world_size == 1:
        return model
    if plan.expert_parallel:
        shard_experts(model)
    broadcast_dense_parameters(model)  # replicas start equal even if a rank's RNG drifted
    if plan.fsdp:
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import fully_shard

        device = next(model.parameters()).device
        mesh = init_device_mesh(device.type, (plan.world_size,))
        for block in model.blocks:
            fully_shard(block, mesh=mesh)
        fully_shard(model, mesh=mesh)
    return model


def sync_grads(model: nn.Module, plan: ParallelPlan, images_used: bool = True) -> None:
    """Average gradients over the ranks (FSDP has reduce-scattered them already; then
    ``images_used`` says whether this rank's batches of the step had any real image)."""
    if plan.world_size == 1:
        return
    if plan.fsdp:
        drop_unused_image_grads(model, images_used)
    else:
        sync_gradients(model)


def clip_grads(model: nn.Module, plan: ParallelPlan, max_norm: float) -> torch.Tensor:
    """Clip as the layout requires; returns the norm of the non-expert gradients before
    clipping (the same number on every rank)."""
    if plan.expert_parallel:
        dense_norm, _ = clip_grad_norms(model, max_norm)  # experts: local clipping (sec. 3.4)
        return torch.tensor(dense_norm)
    params = [p for p in model.parameters() if p.grad is not None]
    norm = nn.utils.clip_grad_norm_(params, max_norm)
    full = getattr(norm, "full_tensor", None)  # FSDP: a replicated DTensor
    return full() if callable(full) else norm


def with_blank_images(batch: Batch, image_size: int) -> Batch:
    """``batch`` with all-zero images marked absent when it has none, so the patch encoder runs
    (its outputs are padding and change nothing) and gets a zero gradient (see the docstring)."""
    if batch.images_B3HW is not None:
        return batch
    b = batch.task_B.shape[0]
    device = batch.target_ids_BT.device
    return replace(batch, images_B3HW=torch.zeros(b, 3, image_size, image_size, device=device),
                   has_image_B=torch.zeros(b, dtype=torch.bool, device=device))



def drop_unused_image_grads(model: nn.Module, used_here: bool) -> None:
    """Under FSDP: when no rank had a real image this step, forget the patch encoder's (zero)
    gradients, so the optimiser skips it exactly as in one process. Every rank calls it."""
    flag = torch.tensor([int(used_here)], device=next(model.parameters()).device)
    dist.all_reduce(flag)
    if not int(flag):
        for p in model.patch_encoder.parameters():
            p.grad = None
