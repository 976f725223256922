"""The feed-forward slot of a transformer block: a dense FFN, or an MoE layer in its place.

Every feed-forward module follows one small protocol so the block need not know which it has:

    forward(x_BLD, info: TokenInfo) -> (y_BLD, aux_loss)

``aux_loss`` is ``None`` for the dense FFN and a scalar tensor for an MoE layer (its
load-balancing and z-losses, already multiplied by their configured weights); the model sums the
layers' aux losses and the trainer adds the sum to the task loss (paper section 3.4).
``TokenInfo`` tells a router which positions are padding (not to be routed), which segment each
token is in (image patches vs text) and each sample's task, for per-modality and per-task
routing statistics.

``build_ffn`` picks the module for layer ``i``: the MoE layer from ``model.nn.moe.build_moe_ffn``
when ``ModelConfig.moe`` says layer ``i`` is an MoE layer, the dense FFN otherwise.

Legend: B batch, L positions, D model width, F hidden width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from model.config import ModelConfig
from model.nn.moe import build_moe_ffn


@dataclass
class TokenInfo:
    """What a feed-forward layer may want to know about the positions it processes."""

    segment_BL: torch.Tensor  # 0 image patch, 1 masked text, 2 target text
    valid_BL: torch.Tensor  # False at padding
    task_B: torch.Tensor | None = None  # index into model.config.TASKS


class FeedForward(nn.Module):
    """Dense FFN: Linear(D, F) -> GELU -> Linear(F, D), as in BERT and GPT."""

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(d_model, d_ff)
        self.fc2 = nn.Linear(d_ff, d_model)
        self.act = nn.GELU()
        self.drop = nn.Dropout(dropout)

    def forward(self, x_BLD: torch.Tensor, info: TokenInfo | None = None):
        return self.drop(self.fc2(self.act(self.fc1(x_BLD)))), None


def build_ffn(cfg: ModelConfig, layer_index: int) -> nn.Module:
    """The feed-forward module of layer ``layer_index``: MoE where the config says so."""
    if cfg.moe is not None and cfg.moe.is_moe_layer(layer_index):
        return build_moe_ffn(cfg, layer_index)
    return FeedForward(cfg.d_model, cfg.d_ff, cfg.dropout)
