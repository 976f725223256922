"""Per-step diagnostics of the MoE layers: tokens per expert, dropped fraction, balance and z
losses, overall and broken down by token group (task x modality: image patches vs text).

The MoE layers count into their own buffers while training (``model.moe.MoE._record``); the
trainer, once per optimiser step:

    set_token_groups(model, groups_BT, names)   # before the forward(s), optional
    ... forward / backward ...
    metrics = collect_moe_stats(model)          # reads and resets the counters

and writes ``metrics`` with its other training metrics (JSONL / TensorBoard). All values are
plain floats or lists of ints. Keys:

- ``moe/balance_loss``, ``moe/z_loss``: mean over layers and forwards (unweighted);
- ``moe/dropped_frac``: dropped token assignments / routed assignments, all layers;
- ``moe/load_max_over_mean``: worst layer's busiest expert over its mean load (1.0 = even);
- ``moe/<layer>/tokens_per_expert``: assignments routed to each expert before the capacity
  cut, ``moe/<layer>/dropped_frac``;
- with groups: ``moe/group/<name>/{tokens, dropped_frac, balance_loss, tokens_per_expert}``;
  balance_loss there is Switch's loss restricted to the group's tokens, averaged over layers.

With ``process_group`` the counters are summed over ranks first (every rank must call).

Legend: B batch, T positions, G groups, E experts.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.distributed as dist
from torch import nn

from model.expert_parallel import moe_layers


def set_token_groups(model: nn.Module, groups: torch.Tensor, names: Sequence[str]) -> None:
    """Label every token of the next forward(s) with a group index into ``names``. ``groups``
    has one entry per token, in the order the MoE layers see them (e.g. shape (B, T))."""
    g = groups.reshape(-1).to(torch.int64)
    if g.numel() and (int(g.min()) < 0 or int(g.max()) >= len(names)):
        raise ValueError(f"token group labels must lie in [0, {len(names)}), "
                         f"got [{int(g.min())}, {int(g.max())}]")
    for moe in moe_layers(model):
        e = moe.num_experts
        if moe.group_tokens.numel() != len(names):
            dev = moe.routed_per_expert.device
            moe.group_routed = torch.zeros(len(names), e, dtype=torch.int64, device=dev)
            moe.group_dropped = torch.zeros(len(names), dtype=torch.int64, device=dev)
            moe.group_tokens = torch.zeros(len(names), dtype=torch.int64, device=dev)
            moe.group_prob_sums = torch.zeros(len(names), e, dtype=torch.float64, device=dev)
        moe.token_groups = g.to(moe.routed_per_expert.device)
    model._moe_group_names = list(names)


def clear_token_groups(model: nn.Module) -> None:
    for moe in moe_layers(model):
        moe.token_groups = None


def task_modality_groups(task_B: torch.Tensor, image_BT: torch.Tensor, task_names: Sequence[str],
                         pad_BT: torch.Tensor | None = None) -> tuple[torch.Tensor, list[str]]:
    """Group labels ``<task>/image`` and ``<task>/text`` per token (and ``pad`` for padding).

    ``task_B`` is each sample's task index, ``image_BT`` True at image-patch positions."""
    groups_BT = task_B.to(torch.int64).unsqueeze(1) * 2 + (~image_BT.bool()).to(torch.int64)
    names = [f"{t}/{m}" for t in task_names for m in ("image", "text")]
    if pad_BT is not None:
        groups_BT = torch.where(pad_BT.bool(), torch.full_like(groups_BT, len(names)), groups_BT)
        names.append("pad")
    return groups_BT, names


def _balance(routed_E: torch.Tensor, prob_sums_E: torch.Tensor, tokens: float, k: int) -> float:
    if tokens == 0:
        return 0.0
    e = routed_E.numel()
    frac = routed_E.double() / (tokens * k)
    return float(e * torch.dot(frac, prob_sums_E.double() / tokens))


@torch.no_grad()
def collect_moe_stats(model: nn.Module, reset: bool = True, process_group=None,
                      per_layer: bool = True) -> dict[str, float | list[int]]:
    """Read the MoE counters accumulated since the last call (see module docstring)."""
    layers = moe_layers(model)
    if not layers:
        return {}
    names = {m: n for n, m in model.named_modules()}
    group_names = getattr(model, "_moe_group_names", [])
    out: dict[str, float | list[int]] = {}
    bal = z = fwd = 0.0
    routed_all = kept_all = 0
    worst = 0.0
    group_acc: dict[str, dict] = {}
    for moe in layers:
        bufs = [moe.routed_per_expert, moe.kept_per_expert, moe.tokens_seen, moe.loss_sums,
                moe.group_routed, moe.group_dropped, moe.group_tokens, moe.group_prob_sums]
        if process_group is not None:
            bufs = [b.clone() for b in bufs]
            for b in bufs:
                dist.all_reduce(b, group=process_group)
        routed, kept, _tokens, sums, g_routed, g_dropped, g_tokens, g_probs = bufs
        if sums[2] == 0:
            continue
        name = names[moe] or "moe"
        bal += float(sums[0])
        z += float(sums[1])
        fwd += float(sums[2])
        r, kk = int(routed.sum()), int(kept.sum())
        routed_all += r
        kept_all += kk
        if r:
            worst = max(worst, float(routed.max()) / (r / routed.numel()))
        if per_layer:
            out[f"moe/{name}/tokens_per_expert"] = routed.tolist()
            out[f"moe/{name}/dropped_frac"] = (r - kk) / r if r else 0.0
        k = moe.cfg.top_k
        for gi, gname in enumerate(group_names[:g_tokens.numel()]):
            acc = group_acc.setdefault(gname, {"tokens": 0, "dropped": 0, "bal": 0.0,
                                               "layers": 0, "tpe": None})
            t = int(g_tokens[gi])
            acc["tokens"] = max(acc["tokens"], t)
            acc["dropped"] += int(g_dropped[gi])
            acc["routed"] = acc.get("routed", 0) + int(g_routed[gi].sum())
            acc["bal"] += _balance(g_routed[gi], g_probs[gi], t, k)
            acc["layers"] += 1
            tpe = g_routed[gi]
            acc["tpe"] = tpe.clone() if acc["tpe"] is None else acc["tpe"] + tpe
    if fwd:
        out["moe/balance_loss"] = bal / fwd
        out["moe/z_loss"] = z / fwd
        out["moe/dropped_frac"] = (routed_all - kept_all) / routed_all if routed_all else 0.0
        out["moe/load_max_over_mean"] = worst
    for gname, acc in group_acc.items():
        if not acc["tokens"]:
            continue
        out[f"moe/group/{gname}/tokens"] = float(acc["tokens"])
        out[f"moe/group/{gname}/dropped_frac"] = acc["dropped"] / max(acc["routed"], 1)
        out[f"moe/group/{gname}/balance_loss"] = acc["bal"] / acc["layers"]
        out[f"moe/group/{gname}/tokens_per_expert"] = acc["tpe"].tolist()
    if reset:
        reset_moe_stats(model)
    return out


def reset_moe_stats(model: nn.Module) -> None:
    for moe in moe_layers(model):
        for b in (moe.routed_per_expert, moe.kept_per_expert, moe.tokens_seen, moe.loss_sums,
                  moe.group_routed, moe.group_dropped, moe.group_tokens, moe.group_prob_sums):
            b.zero_()
