"""Per-step diagnostics of the MoE layers: tokens per expert, dropped fraction, balance and z
losses, overall and broken down by token group (task x modality: image patches vs text).

The MoE layers count into their own buffers while training (``MoE._record``); once per
optimiser step the trainer calls each layer's ``pop_metrics()`` (``layer_metrics`` here), which
reads and resets them, and logs the result with its other training metrics under the layer's
module name (``blocks.1.ffn.dropped_frac`` ...). ``collect_moe_stats(model)`` gives the same
numbers aggregated over all layers, for a summary line or a bench.

Groups come from the ``TokenInfo`` the block passes (task of each sample, segment of each
position: ``<task>/image`` for image patches, ``<task>/text`` for masked or target text), or
from labels set by hand with ``set_token_groups``. Padding is not routed and not counted.

Keys of ``layer_metrics`` (all plain floats, except ``tokens_per_expert``, a list of ints that
goes to the JSONL log only):

- ``balance_loss``, ``z_loss``: mean over the step's forwards (unweighted);
- ``dropped_frac``: token assignments dropped at capacity / assignments routed;
- ``load_max_over_mean``: the busiest expert's assignments over the mean (1.0 = even);
- ``tokens_per_expert``: assignments routed to each expert, before the capacity cut;
- ``group/<task>/<modality>/{tokens, dropped_frac, balance_loss}``: the same restricted to
  the group's tokens (Switch's balance loss computed on them alone).

Under expert parallelism the counters are summed over the ranks first (every rank calls).

Legend: B batch, L positions, N tokens, G groups, E experts.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.distributed as dist
from torch import nn

from model.config import SEGMENT_IMAGE, TASKS
from model.expert_parallel import moe_layers

TASK_MODALITY_GROUPS = [f"{t}/{m}" for t in TASKS for m in ("image", "text")]
_COUNTERS = ("routed_per_expert", "kept_per_expert", "tokens_seen", "loss_sums",
             "group_routed", "group_dropped", "group_tokens", "group_prob_sums")


def groups_from_token_info(info) -> tuple[torch.Tensor, list[str]] | None:
    """(group label per token, names) from a ``TokenInfo``: ``task * 2 + is_text``."""
    task_B = getattr(info, "task_B", None)
    segment_BL = getattr(info, "segment_BL", None)
    if task_B is None or segment_BL is None:
        return None
    is_text_BL = (segment_BL != SEGMENT_IMAGE).to(torch.int64)
    return task_B.to(torch.int64).unsqueeze(1) * 2 + is_text_BL, TASK_MODALITY_GROUPS


def ensure_group_buffers(moe: nn.Module, names: Sequence[str]) -> None:
    """Size the layer's per-group counters for ``names`` (zeroing them if the names change)."""
    if list(names) == moe.group_names and moe.group_tokens.numel() == len(names):
        return
    g, e, dev = len(names), moe.num_experts, moe.routed_per_expert.device
    moe.group_routed = torch.zeros(g, e, dtype=torch.int64, device=dev)
    moe.group_dropped = torch.zeros(g, dtype=torch.int64, device=dev)
    moe.group_tokens = torch.zeros(g, dtype=torch.int64, device=dev)
    moe.group_prob_sums = torch.zeros(g, e, dtype=torch.float64, device=dev)
    moe.group_names = list(names)


def set_token_groups(model: nn.Module, groups: torch.Tensor, names: Sequence[str]) -> None:
    """Label every token of the next forward(s) with an index into ``names`` (one label per
    token, in the order the MoE layers see them, e.g. shape (B, L)); overrides TokenInfo."""
    g = groups.reshape(-1).to(torch.int64)
    if g.numel() and (int(g.min()) < 0 or int(g.max()) >= len(names)):
        raise ValueError(f"token group labels must lie in [0, {len(names)}), "
                         f"got [{int(g.min())}, {int(g.max())}]")
    for moe in moe_layers(model):
        ensure_group_buffers(moe, names)
        moe.token_groups = g.to(moe.routed_per_expert.device)


def clear_token_groups(model: nn.Module) -> None:
    for moe in moe_layers(model):
        moe.token_groups = None


def reset_moe_stats(model: nn.Module) -> None:
    for moe in moe_layers(model):
        for name in _COUNTERS:
            getattr(moe, name).zero_()


def _read(moe: nn.Module, reduce: bool, process_group) -> dict[str, torch.Tensor]:
    bufs = {name: getattr(moe, name).clone() for name in _COUNTERS}
    if reduce:
        for v in bufs.values():
            dist.all_reduce(v, group=process_group)
    return bufs


def _balance(routed_E: torch.Tensor, prob_sums_E: torch.Tensor, tokens: int, k: int) -> float:
    if tokens == 0:
        return 0.0
    frac = routed_E.double() / (tokens * k)
    return float(routed_E.numel() * torch.dot(frac, prob_sums_E.double() / tokens))


@torch.no_grad()
def layer_metrics(moe: nn.Module, reset: bool = True, reduce: bool = False,
                  process_group=None) -> dict[str, float | list[int]]:
    """One MoE layer's diagnostics since the last reset (keys in the module docstring)."""
    b = _read(moe, reduce, process_group)
    if reset:
        for name in _COUNTERS:
            getattr(moe, name).zero_()
    forwards = float(b["loss_sums"][2])
    if forwards == 0:
        return {}
    routed, kept = b["routed_per_expert"], b["kept_per_expert"]
    r, kk = int(routed.sum()), int(kept.sum())
    out: dict[str, float | list[int]] = {
        "balance_loss": float(b["loss_sums"][0]) / forwards,
        "z_loss": float(b["loss_sums"][1]) / forwards,
        "dropped_frac": (r - kk) / r if r else 0.0,
        "load_max_over_mean": float(routed.max()) * routed.numel() / r if r else 0.0,
        "tokens_per_expert": routed.tolist(),
    }
    k = moe.cfg.top_k
    for gi, name in enumerate(moe.group_names[:b["group_tokens"].numel()]):
        tokens = int(b["group_tokens"][gi])
        if not tokens:
            continue
        g_routed = b["group_routed"][gi]
        out[f"group/{name}/tokens"] = float(tokens)
        out[f"group/{name}/dropped_frac"] = int(b["group_dropped"][gi]) / max(int(g_routed.sum()), 1)
        out[f"group/{name}/balance_loss"] = _balance(g_routed, b["group_prob_sums"][gi], tokens, k)
    return out


@torch.no_grad()
def collect_moe_stats(model: nn.Module, reset: bool = True, reduce: bool = False,
                      process_group=None) -> dict[str, float]:
    """All MoE layers together: mean balance and z losses, overall dropped fraction, worst
    layer's load imbalance, and per group the dropped fraction and mean balance loss."""
    layers = [(moe, _read(moe, reduce, process_group)) for moe in moe_layers(model)]
    if reset:
        reset_moe_stats(model)
    layers = [(m, b) for m, b in layers if float(b["loss_sums"][2])]
    if not layers:
        return {}
    fwd = sum(float(b["loss_sums"][2]) for _, b in layers)
    routed = sum(int(b["routed_per_expert"].sum()) for _, b in layers)
    kept = sum(int(b["kept_per_expert"].sum()) for _, b in layers)
    out = {
        "moe/balance_loss": sum(float(b["loss_sums"][0]) for _, b in layers) / fwd,
        "moe/z_loss": sum(float(b["loss_sums"][1]) for _, b in layers) / fwd,
        "moe/dropped_frac": (routed - kept) / routed if routed else 0.0,
        "moe/load_max_over_mean": max(
            float(b["routed_per_expert"].max()) * b["routed_per_expert"].numel()
            / max(int(b["routed_per_expert"].sum()), 1) for _, b in layers),
    }
    per_group: dict[str, list[float]] = {}
    for moe, b in layers:
        for gi, name in enumerate(moe.group_names[:b["group_tokens"].numel()]):
            tokens = int(b["group_tokens"][gi])
            if tokens:
                acc = per_group.setdefault(name, [0.0, 0.0, 0.0, 0.0])
                acc[0] += int(b["group_dropped"][gi])
                acc[1] += int(b["group_routed"][gi].sum())
                acc[2] += _balance(b["group_routed"][gi], b["group_prob_sums"][gi], tokens,
                                   moe.cfg.top_k)
                acc[3] += 1
    for name, (dropped, g_routed, bal, n) in per_group.items():
        out[f"moe/group/{name}/dropped_frac"] = dropped / max(g_routed, 1)
        out[f"moe/group/{name}/balance_loss"] = bal / n
    return out
