"""Per-step diagnostics of the MoE layers: tokens per expert, dropped fraction, balance and z
losses, overall and broken down by token group (task x modality: image patches vs text).

The MoE layers count into their own buffers while training (``MoE._record``); once per
optimiser step the trainer calls each layer's ``pop_metrics()``, which reads the counters
(summed over the expert-parallel ranks first), resets them and turns them into the numbers below
with ``layer_metrics`` here, and logs the result with its other training metrics under the
layer's module name (``blocks.1.ffn.dropped_frac`` ...).

This module holds pure functions of the counter tensors and imports no other model module, so
the layer, the trainer and the distributed code can all use it without import cycles. Groups
(``<task>/image`` for image patches, ``<task>/text`` for masked or target text, or labels set by
hand with ``model.nn.moe.set_token_groups``) are labelled by the layer. Padding is not routed
and not counted.

Keys of ``layer_metrics`` (all plain floats, except ``tokens_per_expert``, a list of ints that
goes to the JSONL log only):

- ``balance_loss``, ``z_loss``: mean over the step's forwards (unweighted);
- ``dropped_frac``: token assignments dropped at capacity / assignments routed;
- ``load_max_over_mean``: the busiest expert's assignments over the mean (1.0 = even);
- ``tokens_per_expert``: assignments routed to each expert, before the capacity cut;
- ``group/<task>/<modality>/{tokens, dropped_frac, balance_loss}``: the same restricted to
  the group's tokens (Switch's balance loss computed on them alone).

Legend: E experts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

# the counter buffers every MoE layer keeps (``model.nn.moe.MoE``), read together
COUNTERS = ("routed_per_expert", "kept_per_expert", "tokens_seen", "loss_sums",
            "group_routed", "group_dropped", "group_tokens", "group_prob_sums")
# the entries of a layer's ``loss_sums`` buffer: balance-loss sum, z-loss sum, forwards counted
BALANCE_SUM, Z_SUM, FORWARDS = 0, 1, 2


def balance(routed_E: torch.Tensor, prob_sums_E: torch.Tensor, tokens: int, k: int) -> float:
    """Switch Transformer's load-balancing loss E * sum_i f_i P_i from counts: ``routed_E``
    assignments per expert over ``tokens`` tokens routed to ``k`` experts each, and the sums of
    the router probabilities ``prob_sums_E`` over those tokens."""
    if tokens == 0:
        return 0.0
    frac = routed_E.double() / (tokens * k)
    return float(routed_E.numel() * torch.dot(frac, prob_sums_E.double() / tokens))


def layer_metrics(counters: Mapping[str, torch.Tensor], group_names: Sequence[str],
                  top_k: int) -> dict[str, float | list[int]]:
    """One MoE layer's diagnostics (keys in the module docstring) from its ``COUNTERS``;
    empty when the layer ran no training forward since the counters were reset."""
    b = counters
    forwards = float(b["loss_sums"][FORWARDS])
    if forwards == 0:
        return {}
    routed, kept = b["routed_per_expert"], b["kept_per_expert"]
    r, kk = int(routed.sum()), int(kept.sum())
    out: dict[str, float | list[int]] = {
        "balance_loss": float(b["loss_sums"][BALANCE_SUM]) / forwards,
        "z_loss": float(b["loss_sums"][Z_SUM]) / forwards,
        "dropped_frac": (r - kk) / r if r else 0.0,
        "load_max_over_mean": float(routed.max()) * routed.numel() / r if r else 0.0,
        "tokens_per_expert": routed.tolist(),
    }
    for gi, name in enumerate(list(group_names)[:b["group_tokens"].numel()]):
        tokens = int(b["group_tokens"][gi])
        if not tokens:
            continue
        g_routed = b["group_routed"][gi]
        out[f"group/{name}/tokens"] = float(tokens)
        out[f"group/{name}/dropped_frac"] = int(b["group_dropped"][gi]) / max(int(g_routed.sum()), 1)
        out[f"group/{name}/balance_loss"] = balance(g_routed, b["group_prob_sums"][gi], tokens, top_k)
    return out
