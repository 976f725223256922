"""Gradients of a model with expert-parallel MoE layers: data parallelism for the replicated
parameters, and gradient clipping that is local for experts and global for the rest.

Under expert parallelism every non-expert parameter (attention, norms, embeddings, routers) is
a replica on every rank and is trained data-parallel: its gradients are averaged over the group.
An expert lives on one rank only and its gradient already holds the contributions of every
rank's tokens (they came through the all-to-all backward); dividing it by the world size makes
it the gradient of the same mean-over-ranks loss. After ``sync_gradients`` a run over R ranks
steps exactly like one process that averages the R per-rank losses (a test checks).

Clipping (M6 section 3.4): "gradient clipping globally can increase costs on all-to-all
communication as it computes norms across all experts, and thus we apply local clipping".
``clip_grad_norms`` clips the non-expert parameters by their global norm (identical on every
rank once synced, so no communication is needed) and each rank's experts by the norm of its
own experts only.

If the trainer wraps the model in DistributedDataParallel instead of calling ``sync_gradients``,
it must keep DDP off the experts (``ddp_ignore_experts``) or DDP would overwrite each rank's
experts with rank 0's at construction and average different experts' gradients together.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

from model.nn.moe import moe_layers


def expert_parameters(model: nn.Module) -> list[nn.Parameter]:
    """Parameters of the experts of every MoE layer (this rank's slice under expert parallelism)."""
    return [p for moe in moe_layers(model) for p in moe.experts.parameters()]


def dense_parameters(model: nn.Module) -> list[nn.Parameter]:
    """Every parameter that is not an expert's (replicated under expert parallelism)."""
    expert_ids = {id(p) for p in expert_parameters(model)}
    return [p for p in model.parameters() if id(p) not in expert_ids]


def expert_parameter_names(model: nn.Module) -> list[str]:
    expert_ids = {id(p) for p in expert_parameters(model)}
    return [n for n, p in model.named_parameters() if id(p) in expert_ids]


def ddp_ignore_experts(model: nn.Module) -> None:
    """Tell DistributedDataParallel (built afterwards) to leave expert parameters alone."""
    from torch.nn.parallel import DistributedDataParallel

    DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(
        model, expert_parameter_names(model))


@torch.no_grad()
def broadcast_dense_parameters(model: nn.Module, group=None, src: int = 0) -> None:
    """Make every replicated parameter and buffer equal to rank ``src``'s (experts untouched)."""
    for p in dense_parameters(model):
        dist.broadcast(p.data, src=dist.get_global_rank(group, src) if group else src, group=group)


@torch.no_grad()
def sync_gradients(model: nn.Module, group=None, bucket_numel: int = 1 << 24) -> None:
    """Average replicated gradients over the group and scale expert gradients by 1/world, so
    the step is that of the mean of the ranks' losses.

    A replicated parameter can have a gradient on some ranks only (a batch without images
    leaves the patch encoder unused): the ranks first agree which parameters have one, and a
    rank without it contributes zeros; a parameter no rank used keeps ``grad=None`` (AdamW
    skips it, as in one process). The gradients then go in flat buckets of at most
    ``bucket_numel`` elements, one all-reduce each (so memory stays bounded for large models)."""
    world = dist.get_world_size(group)
    if world == 1:
        return
    dense = [p for p in dense_parameters(model) if p.requires_grad]
    if dense:
        flags = torch.tensor([p.grad is not None for p in dense], dtype=torch.int32,
                             device=dense[0].device)
        dist.all_reduce(flags, group=group)
        used = [p for p, f in zip(dense, flags.tolist()) if f]
        for p in used:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        bucket: list[torch.Tensor] = []
        size = 0
        for i, p in enumerate(used):
            bucket.append(p.grad)
            size += p.grad.numel()
            last = i == len(used) - 1
            if last or size >= bucket_numel or used[i + 1].grad.dtype != p.grad.dtype:
                flat = torch.cat([g.reshape(-1) for g in bucket])
                dist.all_reduce(flat, group=group)
                flat /= world
                offset = 0
                for g in bucket:
                    g.copy_(flat[offset:offset + g.numel()].view_as(g))
                    offset += g.numel()
                bucket, size = [], 0
    for p in expert_parameters(model):
        if p.grad is not None:
            p.grad /= world


def clip_grad_norms(model: nn.Module, max_norm: float,
                    expert_max_norm: float | None = None) -> tuple[float, float]:
    """Clip non-expert gradients by their global norm and this rank's expert gradients by
    their local norm (to ``expert_max_norm``, default ``max_norm``). Returns the two norms
    before clipping. Call after ``sync_gradients``."""
    dense = [p for p in dense_parameters(model) if p.grad is not None]
    experts = [p for p in expert_parameters(model) if p.grad is not None]
    dense_norm = nn.utils.clip_grad_norm_(dense, max_norm) if dense else torch.zeros(())
    limit = max_norm if expert_max_norm is None else expert_max_norm
    expert_norm = nn.utils.clip_grad_norm_(experts, limit) if experts else torch.zeros(())
    return float(dense_norm), float(expert_norm)
