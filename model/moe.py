"""The Mixture-of-Experts feed-forward layer (M6 section 3.4, equations 1 and 2).

    y = sum over i in T(x) of p_i(x) E_i(x),   T(x) = top-k of g(x),   p = softmax(g(x))

The forward reads as: route (float32, ``model.router``) -> plan the dispatch (sort token
assignments by expert, cut each expert at its capacity C) -> gather the kept rows -> run the
experts on their slices (``model.experts``; across ranks through ``model.expert_parallel``
when the layer is sharded) -> scale by p_i(x) and scatter-add back to the tokens.

Dispatch is by sorting, never by an N x E x C one-hot: memory is O(N k D) for the gathered rows
plus the router's N x E probabilities. A token assignment over capacity is dropped: it adds
nothing here, so the block's residual connection carries the token through unchanged (Switch
Transformer section 2.2; the paper's "sent to next layers through residual connections").
Priority for capacity is GShard's: all first choices before any second choice, and within a
choice level the earlier token first.

The layer returns ``MoEOutput(out, aux_loss)``, aux_loss being the configured weighted sum of the
load-balancing and z losses, for the caller to add to the training loss. Load counters are
buffers of the module (non-persistent, so checkpoints don't carry them); while training, each
forward adds to them and ``model.moe_stats`` reads and resets them once per step. Token groups
(task, modality) for the breakdown are set on the module by ``moe_stats.set_token_groups``.

Legend: N tokens, D d_model, E experts (global), K top-k, A = N*K assignments, T kept assignments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from model.experts import Experts
from model.moe_config import MoEConfig
from model.router import Router, Routing


class MoEOutput(NamedTuple):
    out: torch.Tensor  # same shape and dtype as the input; zero rows for fully dropped tokens
    aux_loss: torch.Tensor  # float32 scalar: balance_w * balance + z_w * z


class DispatchPlan(NamedTuple):
    """Kept token assignments, sorted by expert."""

    token_T: torch.Tensor  # which token each kept row comes from
    weight_T: torch.Tensor  # its p_i(x), float32
    kept_E: torch.Tensor  # kept rows per expert (int64), sums to T
    routed_E: torch.Tensor  # assignments per expert before the capacity cut
    dropped_token_D: torch.Tensor  # tokens of the dropped assignments (for diagnostics)


def plan_dispatch(expert_NK: torch.Tensor, weight_NK: torch.Tensor, num_experts: int,
                  capacity: int | None) -> DispatchPlan:
    """Sort the N*K assignments by expert and keep the first ``capacity`` of each expert."""
    n, k = expert_NK.shape
    device = expert_NK.device
    # choice-major order: every token's first choice precedes any second choice
    expert_A = expert_NK.t().reshape(-1)
    weight_A = weight_NK.t().reshape(-1)
    token_A = torch.arange(n, device=device).repeat(k)
    order_A = torch.argsort(expert_A, stable=True)
    routed_E = torch.bincount(expert_A, minlength=num_experts)
    if capacity is None or n * k == 0:
        keep_sorted = None
        kept_E = routed_E
    else:
        start_E = routed_E.cumsum(0) - routed_E
        slot_A = torch.arange(n * k, device=device) - start_E[expert_A[order_A]]
        keep_sorted = slot_A < capacity
        kept_E = routed_E.clamp(max=capacity)
    if keep_sorted is None:
        kept_order = order_A
        dropped = token_A[:0]
    else:
        kept_order = order_A[keep_sorted]
        dropped = token_A[order_A[~keep_sorted]]
    return DispatchPlan(token_A[kept_order], weight_A[kept_order], kept_E, routed_E, dropped)


class MoE(nn.Module):
    """Drop-in replacement for a block's FFN: ``MoE(cfg, d_model, d_ff)(x) -> MoEOutput``."""

    def __init__(self, cfg: MoEConfig, d_model: int, d_ff: int,
                 activation: Callable[[torch.Tensor], torch.Tensor] = F.gelu,
                 init_std: float = 0.02) -> None:
        super().__init__()
        self.cfg = cfg
        self.num_experts = cfg.num_experts
        self.router = Router(d_model, cfg.num_experts, cfg.top_k, cfg.renormalize_top_k)
        nn.init.normal_(self.router.gate.weight, std=init_std)
        self.experts = Experts(cfg.num_experts, d_model, cfg.expert_ffn_dim or d_ff,
                               activation, init_std)
        # set by model.expert_parallel.shard_experts; None runs every expert in this process
        self.expert_parallel = None
        e = cfg.num_experts
        self.register_buffer("routed_per_expert", torch.zeros(e, dtype=torch.int64), persistent=False)
        self.register_buffer("kept_per_expert", torch.zeros(e, dtype=torch.int64), persistent=False)
        self.register_buffer("tokens_seen", torch.zeros((), dtype=torch.int64), persistent=False)
        self.register_buffer("loss_sums", torch.zeros(3, dtype=torch.float64), persistent=False)
        # per-group breakdown, sized by set_token_groups
        self.token_groups: torch.Tensor | None = None
        self.register_buffer("group_routed", torch.zeros(0, e, dtype=torch.int64), persistent=False)
        self.register_buffer("group_dropped", torch.zeros(0, dtype=torch.int64), persistent=False)
        self.register_buffer("group_tokens", torch.zeros(0, dtype=torch.int64), persistent=False)
        self.register_buffer("group_prob_sums", torch.zeros(0, e, dtype=torch.float64),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> MoEOutput:
        shape = x.shape
        x_ND = x.reshape(-1, shape[-1])
        routing = self.router(x_ND)
        capacity = self.cfg.capacity(x_ND.shape[0])
        plan = plan_dispatch(routing.expert_NK, routing.weight_NK, self.num_experts, capacity)
        rows_TD = x_ND[plan.token_T]
        if self.expert_parallel is None:
            y_TD = self.experts(rows_TD, plan.kept_E)
        else:
            y_TD = self.expert_parallel(rows_TD, plan.kept_E, self.experts)
        y_TD = y_TD * plan.weight_T.unsqueeze(1).to(y_TD.dtype)
        out_ND = y_TD.new_zeros(x_ND.shape[0], y_TD.shape[1]).index_add_(0, plan.token_T, y_TD)
        aux = (self.cfg.balance_loss_weight * routing.balance_loss
               + self.cfg.z_loss_weight * routing.z_loss)
        if self.training and _outside_backward():
            self._record(routing, plan)
        return MoEOutput(out_ND.to(x.dtype).reshape(shape), aux)

    @torch.no_grad()
    def _record(self, routing: Routing, plan: DispatchPlan) -> None:
        n = routing.probs_NE.shape[0]
        self.routed_per_expert += plan.routed_E
        self.kept_per_expert += plan.kept_E
        self.tokens_seen += n
        self.loss_sums += torch.stack([routing.balance_loss.detach().double(),
                                       routing.z_loss.detach().double(),
                                       torch.ones((), dtype=torch.float64, device=plan.kept_E.device)])
        if self.token_groups is None:
            return
        g_N = self.token_groups.reshape(-1)
        if g_N.numel() != n:
            raise ValueError(f"token groups hold {g_N.numel()} labels but this MoE layer routed "
                             f"{n} tokens; set them with moe_stats.set_token_groups(model, "
                             "groups) using one label per token of the batch")
        e, k = self.num_experts, routing.expert_NK.shape[1]
        gk = g_N.repeat_interleave(k) * e + routing.expert_NK.reshape(-1)
        self.group_routed += torch.bincount(gk, minlength=self.group_routed.numel()).view_as(
            self.group_routed)
        groups = self.group_tokens.numel()
        self.group_tokens += torch.bincount(g_N, minlength=groups)
        self.group_dropped += torch.bincount(g_N[plan.dropped_token_D], minlength=groups)
        self.group_prob_sums.index_add_(0, g_N, routing.probs_NE.double())

    def extra_repr(self) -> str:
        c = self.cfg
        return (f"experts={c.num_experts}, top_k={c.top_k}, capacity_factor={c.capacity_factor}, "
                f"expert_parallel={self.expert_parallel is not None}")


def _outside_backward() -> bool:
    """False while autograd replays a forward inside backward (activation checkpointing), so the
    recomputed forward does not count its tokens twice."""
    current = getattr(torch._C, "_current_graph_task_id", None)
    return current is None or current() == -1
