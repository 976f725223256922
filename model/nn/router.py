"""The MoE router: gate g(x), softmax p(x), top-k choice and the auxiliary losses.

Paper section 3.4, equations 1 and 2: p(x) = softmax(g(x)) and a token goes to the experts T
with the k largest gate values, weighted by p_i(x). Routing runs in float32 whatever the model's
dtype (autocast is switched off here): top-k on bf16 logits ties and flips too easily, and the
softmax and its losses are where low precision hurts (Switch Transformer section 2.4,
"selective precision").

Two auxiliary losses come back with every routing:

- load balancing (Switch Transformer, eq. 4): ``m * sum_i f_i * P_i`` where f_i is the fraction
  of token assignments whose choice is expert i (counted before any capacity drop) and P_i the
  mean router probability of expert i. It is 1 when routing is uniform and grows with imbalance;
  only P carries a gradient.
- router z-loss (ST-MoE, Zoph et al. 2022): mean over tokens of ``logsumexp(g(x))^2``; keeps the
  logits small so the float32 softmax stays well conditioned.

Legend: N tokens, E experts, K = top-k.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class Routing(NamedTuple):
    """What the router decided for N tokens. Index tensors are int64; floats are float32."""

    expert_NK: torch.Tensor  # chosen experts, best first
    weight_NK: torch.Tensor  # p_i(x) of each chosen expert (renormalised if configured)
    probs_NE: torch.Tensor  # full softmax, float32
    balance_loss: torch.Tensor  # scalar, Switch load-balancing loss
    z_loss: torch.Tensor  # scalar, router z-loss


def balance_loss(probs_NE: torch.Tensor, expert_NK: torch.Tensor,
                 valid_N: torch.Tensor | None = None) -> torch.Tensor:
    """Switch Transformer's load-balancing loss ``E * sum_e f_e P_e`` over top-k assignments
    of the valid tokens (all tokens when ``valid_N`` is None)."""
    if valid_N is not None:
        probs_NE, expert_NK = probs_NE[valid_N], expert_NK[valid_N]
    n, e = probs_NE.shape
    if n == 0:
        return probs_NE.sum() * 0.0  # keeps the graph, never NaN on an empty batch
    counts_E = torch.bincount(expert_NK.reshape(-1), minlength=e).to(probs_NE.dtype)
    frac_E = counts_E / expert_NK.numel()
    return e * torch.dot(frac_E, probs_NE.mean(dim=0))


def z_loss(logits_NE: torch.Tensor, valid_N: torch.Tensor | None = None) -> torch.Tensor:
    """ST-MoE router z-loss: mean squared log-partition of the gate logits."""
    if valid_N is not None:
        logits_NE = logits_NE[valid_N]
    if logits_NE.shape[0] == 0:
        return logits_NE.sum() * 0.0
    return torch.logsumexp(logits_NE, dim=-1).square().mean()


class Router(nn.Module):
    """Linear gate (no bias) + float32 softmax + top-k."""

    def __init__(self, d_model: int, num_experts: int, top_k: int,
                 renormalize_top_k: bool = False) -> None:
        super().__init__()
        if top_k not in (1, 2):
            raise ValueError(f"top_k must be 1 or 2, got {top_k}")
        self.num_experts = num_experts
        self.top_k = top_k
        self.renormalize_top_k = renormalize_top_k
        self.gate = nn.Linear(d_model, num_experts, bias=False)

    def forward(self, x_ND: torch.Tensor, valid_N: torch.Tensor | None = None) -> Routing:
        """Route every token; the losses count only ``valid_N`` tokens (padding is not routed)."""
        with torch.autocast(device_type=x_ND.device.type, enabled=False):
            logits_NE = nn.functional.linear(x_ND.float(), self.gate.weight.float())
            probs_NE = logits_NE.softmax(dim=-1)
            weight_NK, expert_NK = probs_NE.topk(self.top_k, dim=-1)
            if self.renormalize_top_k and self.top_k > 1:
                weight_NK = weight_NK / weight_NK.sum(dim=-1, keepdim=True)
            return Routing(expert_NK, weight_NK, probs_NE,
                           balance_loss(probs_NE, expert_NK, valid_N), z_loss(logits_NE, valid_N))
