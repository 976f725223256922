"""AdamW with decoupled weight decay on matrices only, and a warm-up + cosine learning rate.

Weight decay applies to weight matrices and convolution kernels, not to biases, layer-norm gains
or embeddings (GPT-2 / BERT practice: decaying a gain or an embedding row towards zero only hurts).
The learning rate rises linearly over ``warmup_steps`` to ``lr``, then follows a half cosine
down to ``lr * min_lr_ratio`` at ``steps``. The schedule is a small callable object, so its state
travels in ``LambdaLR.state_dict()`` and a resumed run continues on the same curve.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from model.config import TrainConfig


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    seen: set[int] = set()
    for name, p in model.named_parameters():
        if not p.requires_grad or id(p) in seen:
            continue
        seen.add(id(p))
        if p.dim() >= 2 and "emb" not in name and not name.endswith(("experts.b1", "experts.b2")):
            decay.append(p)
        else:
            no_decay.append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


class WarmupCosine:
    """Multiplier of the base learning rate at a step (for ``torch.optim.lr_scheduler.LambdaLR``)."""

    def __init__(self, warmup_steps: int, total_steps: int, min_ratio: float):
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.min_ratio = min_ratio

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        span = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / span)
        return self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def build_optimizer(model: nn.Module, cfg: TrainConfig):
    """(AdamW, LambdaLR) for ``model`` under ``cfg``."""
    opt = torch.optim.AdamW(
        param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=cfg.betas, eps=1e-8,
        foreach=True,
    )
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, WarmupCosine(cfg.warmup_steps, cfg.steps, cfg.min_lr_ratio)
    )
    return opt, sched
