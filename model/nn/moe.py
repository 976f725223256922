"""The Mixture-of-Experts feed-forward layer (M6 section 3.4, equations 1 and 2).

    y = sum over i in T(x) of p_i(x) E_i(x),   T(x) = top-k of g(x),   p = softmax(g(x))

The forward reads as: route (float32, ``model.nn.router``) -> plan the dispatch (sort token
assignments by expert, cut each expert at its capacity C) -> gather the kept rows -> run the
experts on their slices (``model.nn.experts``; across ranks through ``model.distributed.expert_parallel``
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
forward adds to them, and ``pop_metrics`` (the trainer calls it once per step) reads and resets
them (``model.nn.moe_stats``). Padding (``TokenInfo.valid_BL`` False) is not routed and takes no
capacity. Tokens are grouped by task and modality (image patch vs text) from the ``TokenInfo``
the block passes, or by labels set with ``set_token_groups``. ``moe_layers(model)`` lists a
model's MoE layers, for the checkpoint and expert-parallel code.

Legend: N tokens, D d_model, E experts (global), K top-k, A = N*K assignments, T kept assignments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
import torch.distributed as dist
from torch import nn
from torch.nn import functional as F

from model.config import SEGMENT_IMAGE, TASKS, ModelConfig
from model.moe_config import MoEConfig
from model.nn import moe_stats
from model.nn.experts import Experts
from model.nn.router import Router, Routing

# token groups from a TokenInfo: label task * 2 + is_text
TASK_MODALITY_GROUPS = [f"{t}/{m}" for t in TASKS for m in ("image", "text")]


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
                  capacity: int | None, valid_N: torch.Tensor | None = None) -> DispatchPlan:
    """Sort the N*K assignments by expert and keep the first ``capacity`` of each expert.

    Tokens where ``valid_N`` is False (padding) are not routed at all: their assignments go to
    a sentinel bin past the last expert, which sorts last and is cut off."""
    n, k = expert_NK.shape
    device = expert_NK.device
    # choice-major order: every token's first choice precedes any second choice
    expert_A = expert_NK.t().reshape(-1)
    weight_A = weight_NK.t().reshape(-1)
    token_A = torch.arange(n, device=device).repeat(k)
    if valid_N is not None:
        expert_A = torch.where(valid_N.repeat(k), expert_A, num_experts)
    order_A = torch.argsort(expert_A, stable=True)
    routed_E = torch.bincount(expert_A, minlength=num_experts + 1)[:num_experts]
    routed = int(routed_E.sum())
    if capacity is None:
        kept_E = routed_E
        kept_order = order_A[:routed]
        dropped = token_A[:0]
    else:
        start_E = routed_E.cumsum(0) - routed_E
        sorted_expert = expert_A[order_A[:routed]]
        slot = torch.arange(routed, device=device) - start_E[sorted_expert]
        keep = slot < capacity
        kept_E = routed_E.clamp(max=capacity)
        kept_order = order_A[:routed][keep]
        dropped = token_A[order_A[:routed][~keep]]
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
        # set by model.distributed.expert_parallel.shard_experts; None runs every expert in this process
        self.expert_parallel = None
        e = cfg.num_experts
        self.register_buffer("routed_per_expert", torch.zeros(e, dtype=torch.int64), persistent=False)
        self.register_buffer("kept_per_expert", torch.zeros(e, dtype=torch.int64), persistent=False)
        self.register_buffer("tokens_seen", torch.zeros((), dtype=torch.int64), persistent=False)
        # balance-loss sum, z-loss sum, forwards (indices in moe_stats)
        self.register_buffer("loss_sums", torch.zeros(3, dtype=torch.float64), persistent=False)
        # per-group breakdown (task x modality), sized on first use by moe_stats
        self.token_groups: torch.Tensor | None = None  # explicit labels (set_token_groups)
        self.group_names: list[str] = []
        self.register_buffer("group_routed", torch.zeros(0, e, dtype=torch.int64), persistent=False)
        self.register_buffer("group_dropped", torch.zeros(0, dtype=torch.int64), persistent=False)
        self.register_buffer("group_tokens", torch.zeros(0, dtype=torch.int64), persistent=False)
        self.register_buffer("group_prob_sums", torch.zeros(0, e, dtype=torch.float64),
                             persistent=False)

    def forward(self, x: torch.Tensor, info=None) -> MoEOutput:
        """``x`` (..., D). ``info`` (optional, ``model.nn.ffn.TokenInfo``): ``valid_BL`` marks the
        tokens to route (padding is left out and gets a zero output), ``segment_BL`` and
        ``task_B`` label tokens for the per-task / per-modality diagnostics."""
        shape = x.shape
        x_ND = x.reshape(-1, shape[-1])
        valid_N = _valid_tokens(info, x_ND.shape[0])
        routing = self.router(x_ND, valid_N)
        n_routed = x_ND.shape[0] if valid_N is None else int(valid_N.sum())
        plan = plan_dispatch(routing.expert_NK, routing.weight_NK, self.num_experts,
                             self.cfg.capacity(n_routed), valid_N)
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
            self._record(routing, plan, valid_N, info)
        return MoEOutput(out_ND.to(x.dtype).reshape(shape), aux)

    @torch.no_grad()
    def _record(self, routing: Routing, plan: DispatchPlan, valid_N: torch.Tensor | None,
                info) -> None:
        probs_NE = routing.probs_NE
        self.routed_per_expert += plan.routed_E
        self.kept_per_expert += plan.kept_E
        self.tokens_seen += probs_NE.shape[0] if valid_N is None else valid_N.sum()
        self.loss_sums[moe_stats.BALANCE_SUM] += routing.balance_loss.detach().double()
        self.loss_sums[moe_stats.Z_SUM] += routing.z_loss.detach().double()
        self.loss_sums[moe_stats.FORWARDS] += 1
        if self.token_groups is not None:
            labels = (self.token_groups, self.group_names)
        else:
            labels = _groups_from_token_info(info)
        if labels is None:
            return
        g_N = labels[0].reshape(-1).to(probs_NE.device)
        if g_N.numel() != probs_NE.shape[0]:
            raise ValueError(f"token groups hold {g_N.numel()} labels but this MoE layer routed "
                             f"{probs_NE.shape[0]} tokens; give one label per token of the batch")
        self.ensure_group_buffers(labels[1])
        dropped_G = g_N[plan.dropped_token_D]
        expert_NK = routing.expert_NK
        if valid_N is not None:
            g_N, probs_NE, expert_NK = g_N[valid_N], probs_NE[valid_N], expert_NK[valid_N]
        groups, e, k = len(labels[1]), self.num_experts, expert_NK.shape[1]
        gk = g_N.repeat_interleave(k) * e + expert_NK.reshape(-1)
        self.group_routed += torch.bincount(gk, minlength=groups * e).view(groups, e)
        self.group_tokens += torch.bincount(g_N, minlength=groups)
        self.group_dropped += torch.bincount(dropped_G, minlength=groups)
        self.group_prob_sums.index_add_(0, g_N, probs_NE.double())

    def ensure_group_buffers(self, names: Sequence[str]) -> None:
        """Size the per-group counters for ``names`` (zeroing them if the names change)."""
        if list(names) == self.group_names and self.group_tokens.numel() == len(names):
            return
        g, e, dev = len(names), self.num_experts, self.routed_per_expert.device
        self.group_routed = torch.zeros(g, e, dtype=torch.int64, device=dev)
        self.group_dropped = torch.zeros(g, dtype=torch.int64, device=dev)
        self.group_tokens = torch.zeros(g, dtype=torch.int64, device=dev)
        self.group_prob_sums = torch.zeros(g, e, dtype=torch.float64, device=dev)
        self.group_names = list(names)

    @torch.no_grad()
    def pop_metrics(self) -> dict[str, float | list[int]]:
        """This layer's diagnostics since the last call, then reset (the trainer's protocol:
        it logs them under the module's name; keys in ``model.nn.moe_stats``). Under expert
        parallelism the counters are summed over the expert-parallel group first, so every rank
        must call it."""
        counters = {name: getattr(self, name).clone() for name in moe_stats.COUNTERS}
        ep = self.expert_parallel
        if ep is not None:
            for v in counters.values():
                dist.all_reduce(v, group=ep.group)
        for name in moe_stats.COUNTERS:
            getattr(self, name).zero_()
        return moe_stats.layer_metrics(counters, self.group_names, self.cfg.top_k)

    def extra_repr(self) -> str:
        c = self.cfg
        return (f"experts={c.num_experts}, top_k={c.top_k}, capacity_factor={c.capacity_factor}, "
                f"expert_parallel={self.expert_parallel is not None}")


def moe_layers(model: nn.Module) -> list[MoE]:
    """Every MoE layer of ``model`` (including ``model`` itself), in module order."""
    return [m for m in model.modules() if isinstance(m, MoE)]


def set_token_groups(model: nn.Module, groups: torch.Tensor, names: Sequence[str]) -> None:
    """Label every token of the next forward(s) of every MoE layer of ``model`` with an index
    into ``names`` (one label per token, in the order the layers see them, e.g. shape (B, L));
    overrides the task x modality groups of the TokenInfo."""
    g = groups.reshape(-1).to(torch.int64)
    if g.numel() and (int(g.min()) < 0 or int(g.max()) >= len(names)):
        raise ValueError(f"token group labels must lie in [0, {len(names)}), "
                         f"got [{int(g.min())}, {int(g.max())}]")
    for moe in moe_layers(model):
        moe.ensure_group_buffers(names)
        moe.token_groups = g.to(moe.routed_per_expert.device)


def _groups_from_token_info(info) -> tuple[torch.Tensor, list[str]] | None:
    """(group label per token, names) from a ``TokenInfo``: ``task * 2 + is_text``."""
    task_B = getattr(info, "task_B", None)
    segment_BL = getattr(info, "segment_BL", None)
    if task_B is None or segment_BL is None:
        return None
    is_text_BL = (segment_BL != SEGMENT_IMAGE).to(torch.int64)
    return task_B.to(torch.int64).unsqueeze(1) * 2 + is_text_BL, TASK_MODALITY_GROUPS


def _valid_tokens(info, n: int) -> torch.Tensor | None:
    valid = getattr(info, "valid_BL", None)
    if valid is None:
        return None
    valid_N = valid.reshape(-1).to(torch.bool)
    if valid_N.numel() != n:
        raise ValueError(f"TokenInfo.valid_BL has {valid_N.numel()} entries for {n} tokens")
    return None if bool(valid_N.all()) else valid_N


def build_moe_ffn(cfg: ModelConfig, layer_index: int) -> MoE:
    """The feed-forward slot of layer ``layer_index`` as an MoE layer (``model.nn.ffn.build_ffn``
    calls this where ``cfg.moe.is_moe_layer``): experts shaped like the dense FFN (GELU, biases,
    d_ff unless ``cfg.moe.expert_ffn_dim``)."""
    if cfg.moe is None:
        raise ValueError("build_moe_ffn needs ModelConfig.moe to be set")
    return MoE(cfg.moe, cfg.d_model, cfg.d_ff, F.gelu, cfg.init_std)


def _outside_backward() -> bool:
    """False while autograd replays a forward inside backward (activation checkpointing), so the
    recomputed forward does not count its tokens twice."""
    current = getattr(torch._C, "_current_graph_task_id", None)
    return current is None or current() == -1
