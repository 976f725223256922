"""Multi-head self-attention with an explicit mask and an optional KV cache.

The mask (``model/nn/masks.py``) carries the prefix-bidirectional, target-causal structure, so the
same module serves the encoder and the decoder side of the unified model. During generation the
keys and values of every position already computed sit in a ``KVCache``; a step computes q, k, v
for the new tokens only, writes k and v into the cache and attends over everything cached.

Legend: B batch, L new positions, K cached positions, H heads, E head width, D model width.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class KVCache:
    """Keys and values of every layer for positions ``0 .. length-1``, preallocated.

    It also keeps each cached position's segment id and validity, from which each step's mask
    is built. ``append`` is called once per layer for the same new positions; ``advance`` then
    moves ``length`` past them.
    """

    def __init__(
        self, n_layers: int, batch: int, n_heads: int, head_dim: int, max_len: int,
        dtype: torch.dtype, device: torch.device | str = "cpu",
    ):
        shape = (batch, n_heads, max_len, head_dim)
        self.k = [torch.empty(shape, dtype=dtype, device=device) for _ in range(n_layers)]
        self.v = [torch.empty(shape, dtype=dtype, device=device) for _ in range(n_layers)]
        self.segment_BK = torch.empty(batch, max_len, dtype=torch.long, device=device)
        self.valid_BK = torch.empty(batch, max_len, dtype=torch.bool, device=device)
        self.max_len = max_len
        self.length = 0  # positions written and advanced over
        self.pending = 0  # positions being added by the current step
        self.target_len = 0  # target-segment tokens cached (their next position id)

    def add_tokens(self, segment_BL: torch.Tensor, valid_BL: torch.Tensor) -> None:
        n = segment_BL.shape[1]
        if self.length + n > self.max_len:
            raise ValueError(
                f"KV cache holds {self.max_len} positions; {self.length + n} needed: "
                "raise max_len (or generate fewer tokens)"
            )
        self.segment_BK[:, self.length : self.length + n] = segment_BL
        self.valid_BK[:, self.length : self.length + n] = valid_BL
        self.pending = n

    def append(self, layer: int, k_BHLE: torch.Tensor, v_BHLE: torch.Tensor):
        end = self.length + k_BHLE.shape[2]
        self.k[layer][:, :, self.length : end] = k_BHLE
        self.v[layer][:, :, self.length : end] = v_BHLE
        return self.k[layer][:, :, :end], self.v[layer][:, :, :end]

    def advance(self, n_target: int) -> None:
        self.length += self.pending
        self.target_len += n_target
        self.pending = 0


class Attention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.dropout = dropout

    def forward(
        self,
        x_BLD: torch.Tensor,
        mask_B1LK: torch.Tensor,
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> torch.Tensor:
        b, n, d = x_BLD.shape
        qkv = self.qkv(x_BLD).view(b, n, 3, self.n_heads, d // self.n_heads)
        q_BHLE, k_BHLE, v_BHLE = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        if cache is not None:
            k_BHLE, v_BHLE = cache.append(layer, k_BHLE, v_BHLE)
        y_BHLE = F.scaled_dot_product_attention(
            q_BHLE, k_BHLE, v_BHLE, attn_mask=mask_B1LK,
            dropout_p=self.dropout if self.training else 0.0,
        )
        return self.out(y_BHLE.transpose(1, 2).reshape(b, n, d))
