"""Expert parallelism: the experts of each MoE layer split across the ranks of a process group,
tokens sent to their experts and back with ``all_to_all_single`` (M6 section 3.4).

Every rank routes its own tokens (the router is replicated, like every non-expert parameter)
and sorts the kept assignments by global expert; experts are laid out contiguously, rank r
holding experts [r*E/R, (r+1)*E/R), so that order is also by destination rank. Then:

1. the per-expert counts go through one small all-to-all, so each rank learns how many rows
   every source sends to each of its experts (the splits are uneven and change every step);
2. the rows go through an all-to-all with those uneven splits (optionally in bfloat16: the
   paper's half-precision communication, which halves the bytes);
3. received rows, ordered (source rank, local expert), are permuted to (local expert, source)
   and the local experts run on them as one grouped multiply;
4. the inverse permutation and the reverse all-to-all bring every row home.

``_AllToAll`` is an autograd function whose backward is the reverse all-to-all, so gradients
of the local experts collect the contributions of every rank's tokens and the input gradient
reaches every rank's router and earlier layers. A rank that sends or receives nothing still
takes part in both collectives, so an empty expert, or an empty rank, cannot hang the group.

Distribution lives here, beside the model: ``shard_experts(model, group)`` turns a model built
the ordinary way into its expert-parallel form (same seed on every rank -> the same global
experts, each rank keeping its slice), so one run with one seed can be checked against a
single process. Wall time spent inside the collectives is accumulated in ``comm_seconds``
(exact on CPU/gloo, where the calls are synchronous).

Legend: T rows, D d_model, E global experts, L local experts, R ranks, S source ranks.
"""

from __future__ import annotations

import time

import torch
import torch.distributed as dist
from torch import nn

from model.nn.experts import Experts
from model.nn.moe import moe_layers

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class _AllToAll(torch.autograd.Function):
    """all_to_all_single with uneven splits; backward sends gradients the reverse way."""

    @staticmethod
    def forward(ctx, x, out_splits, in_splits, group, timer):
        ctx.out_splits, ctx.in_splits, ctx.group, ctx.timer = out_splits, in_splits, group, timer
        return _exchange(x, out_splits, in_splits, group, timer)

    @staticmethod
    def backward(ctx, g):
        return _exchange(g, ctx.in_splits, ctx.out_splits, ctx.group, ctx.timer), None, None, None, None


def _exchange(x: torch.Tensor, out_splits: list[int], in_splits: list[int], group,
              timer: ExpertParallel | None) -> torch.Tensor:
    out = x.new_empty((sum(out_splits),) + tuple(x.shape[1:]))
    t0 = time.perf_counter()
    dist.all_to_all_single(out, x.contiguous(), out_splits, in_splits, group=group)
    if timer is not None:
        timer.comm_seconds += time.perf_counter() - t0
        timer.comm_bytes += x.numel() * x.element_size()
    return out


def all_to_all(x: torch.Tensor, out_splits: list[int], in_splits: list[int], group=None,
               timer: ExpertParallel | None = None) -> torch.Tensor:
    """Differentiable ``all_to_all_single``: rows ``in_splits[r]`` go to rank r, rows
    ``out_splits[r]`` arrive from rank r."""
    return _AllToAll.apply(x, list(out_splits), list(in_splits), group, timer)


def source_to_expert_order(recv_SL: torch.Tensor) -> torch.Tensor:
    """Permutation p such that ``rows[p]`` is grouped by local expert (then by source rank),
    for rows that arrived grouped by source rank (then by local expert), ``recv_SL[s, l]`` each."""
    flat = recv_SL.reshape(-1)
    start_SL = (flat.cumsum(0) - flat).view_as(recv_SL)
    counts_LS = recv_SL.t().reshape(-1)
    starts_LS = start_SL.t().reshape(-1)
    total = int(flat.sum())
    first_row = torch.repeat_interleave(counts_LS.cumsum(0) - counts_LS, counts_LS, output_size=total)
    return torch.repeat_interleave(starts_LS, counts_LS, output_size=total) + (
        torch.arange(total, device=recv_SL.device) - first_row)


class ExpertParallel:
    """Runs rows sorted by global expert on the experts of whichever rank holds them."""

    def __init__(self, group=None, comm_dtype: str = "float32") -> None:
        if not dist.is_initialized():
            raise RuntimeError("expert parallelism needs torch.distributed: call "
                               "torch.distributed.init_process_group first (torchrun does)")
        self.group = group
        self.world = dist.get_world_size(group)
        self.rank = dist.get_rank(group)
        self.comm_dtype = _DTYPES[comm_dtype]
        self.comm_seconds = 0.0
        self.comm_bytes = 0

    def __call__(self, rows_TD: torch.Tensor, kept_E: torch.Tensor, experts: Experts) -> torch.Tensor:
        local = experts.num_experts
        if kept_E.numel() != local * self.world:
            raise ValueError(f"{kept_E.numel()} experts routed but {self.world} ranks x {local} "
                             "local experts are held: was shard_experts applied to this layer?")
        recv_E = torch.empty_like(kept_E)
        t0 = time.perf_counter()
        dist.all_to_all_single(recv_E, kept_E.contiguous(), group=self.group)
        self.comm_seconds += time.perf_counter() - t0
        recv_SL = recv_E.view(self.world, local)
        send_splits = kept_E.view(self.world, local).sum(1).tolist()
        recv_splits = recv_SL.sum(1).tolist()

        dtype = rows_TD.dtype
        wire = self.comm_dtype if self.comm_dtype.itemsize < dtype.itemsize else dtype
        rows_TD = all_to_all(rows_TD.to(wire), recv_splits, send_splits, self.group, self).to(dtype)
        perm = source_to_expert_order(recv_SL)
        y_TD = experts(rows_TD[perm], recv_SL.sum(0))
        y_TD = y_TD[torch.argsort(perm)]
        ydt = y_TD.dtype
        wire = self.comm_dtype if self.comm_dtype.itemsize < ydt.itemsize else ydt
        return all_to_all(y_TD.to(wire), send_splits, recv_splits, self.group, self).to(ydt)


def shard_experts(model: nn.Module, group=None) -> nn.Module:
    """Keep on this rank only its slice of every MoE layer's experts and route through the
    group. Call after building the model with the same seed on every rank and before creating
    the optimiser (the expert parameters are replaced). Returns ``model``."""
    layers = moe_layers(model)
    if not layers:
        raise ValueError("shard_experts: the model has no MoE layers (is MoEConfig set?)")
    for moe in layers:
        ep = ExpertParallel(group, moe.cfg.comm_dtype)
        ex = moe.experts
        if ex.first_expert != 0 or ex.num_experts != moe.num_experts:
            raise ValueError("shard_experts: this MoE layer is already sharded")
        if moe.num_experts % ep.world:
            raise ValueError(f"{moe.num_experts} experts cannot be split evenly over "
                             f"{ep.world} ranks: choose num_experts divisible by the world size")
        local = moe.num_experts // ep.world
        lo = ep.rank * local
        for name in ("w1", "b1", "w2", "b2"):
            p = getattr(ex, name)
            setattr(ex, name, nn.Parameter(p.detach()[lo:lo + local].clone(),
                                           requires_grad=p.requires_grad))
        ex.num_experts = local
        ex.first_expert = lo
        moe.expert_parallel = ep
    return model


def comm_seconds(model: nn.Module) -> float:
    """Seconds spent in expert-parallel all-to-alls so far, summed over layers."""
    return sum(m.expert_parallel.comm_seconds for m in moe_layers(model)
               if m.expert_parallel is not None)
