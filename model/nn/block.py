"""One transformer block: pre-norm self-attention and a feed-forward slot (paper section 3.2).

"The building block is identical to that of BERT or GPT, which consists of self attention and
point-wise feed-forward network." Layer norm comes before each sub-layer (GPT-2's placement,
stable at depth); the feed-forward slot holds a dense FFN or an MoE layer (``model/nn/ffn.py``),
whose auxiliary loss the block passes up.

Legend: B batch, L positions, K keys, D model width.
"""

from __future__ import annotations

import torch
from torch import nn

from model.config import ModelConfig
from model.nn.attention import Attention, KVCache
from model.nn.ffn import TokenInfo, build_ffn


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, layer_index: int):
        super().__init__()
        self.layer_index = layer_index
        self.ln1 = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.attn = Attention(cfg.d_model, cfg.n_heads, cfg.dropout)
        self.ln2 = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.ffn = build_ffn(cfg, layer_index)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(
        self,
        x_BLD: torch.Tensor,
        mask_B1LK: torch.Tensor,
        info: TokenInfo,
        cache: KVCache | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        x_BLD = x_BLD + self.drop(self.attn(self.ln1(x_BLD), mask_B1LK, cache, self.layer_index))
        y_BLD, aux = self.ffn(self.ln2(x_BLD), info)
        return x_BLD + y_BLD, aux
