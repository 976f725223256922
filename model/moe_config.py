"""Configuration of the Mixture-of-Experts feed-forward layers (M6 section 3.4, Table 4).

One frozen dataclass says which transformer layers swap their feed-forward network for an MoE
layer and how that layer routes: number of experts m, top-k (1 or 2), capacity factor c of the
expert capacity C = N c / m (Fedus et al., Switch Transformer), and the weights of the two
auxiliary losses (Switch's load-balancing loss and ST-MoE's router z-loss). The model config
holds one of these (or None for a dense model).

It also knows the parameter arithmetic of an MoE layer, so a parameter counter can report total
and active-per-token parameters without allocating any weight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

LAYER_PATTERNS = ("every", "every_other")
COMM_DTYPES = ("float32", "bfloat16", "float16")


@dataclass(frozen=True, kw_only=True)
class MoEConfig:
    """Routing and placement of the experts.

    ``capacity_factor=None`` means no capacity: nothing is ever dropped ("dropless"); a number
    c gives each expert room for ``ceil(c * N * k / m)`` token assignments per forward, where N
    is the number of tokens on this rank and k the top-k (for k = 1 this is the paper's
    C = N c / m; for k = 2 the room doubles because every token makes two assignments, as in
    GShard). ``layers="every_other"`` makes layers 1, 3, 5, ... MoE (GShard's placement);
    ``"every"`` makes all of them MoE.
    """

    num_experts: int = 8
    top_k: int = 1
    capacity_factor: float | None = 1.25
    layers: str = "every_other"
    balance_loss_weight: float = 0.01
    z_loss_weight: float = 0.0
    # Paper eq. 2 weights each chosen expert by its softmax probability p_i(x) as is; GShard
    # renormalises the top-2 probabilities to sum to one. Off by default to follow the paper.
    renormalize_top_k: bool = False
    # dtype of the all-to-all payload under expert parallelism ("bfloat16" halves the bytes,
    # the paper's half-precision communication); compute stays in the model's dtype.
    comm_dtype: str = "float32"
    # Hidden size of each expert FFN; None takes the dense model's d_ff.
    expert_ffn_dim: int | None = None

    def __post_init__(self) -> None:
        if self.num_experts < 1:
            raise ValueError(f"MoEConfig.num_experts must be >= 1, got {self.num_experts}")
        if self.top_k not in (1, 2):
            raise ValueError(f"MoEConfig.top_k must be 1 or 2 (paper section 3.4), got {self.top_k}")
        if self.top_k > self.num_experts:
            raise ValueError(
                f"MoEConfig.top_k={self.top_k} exceeds num_experts={self.num_experts}")
        if self.capacity_factor is not None and self.capacity_factor <= 0:
            raise ValueError("MoEConfig.capacity_factor must be > 0, or None for no capacity "
                             f"limit; got {self.capacity_factor}")
        if self.layers not in LAYER_PATTERNS:
            raise ValueError(f"MoEConfig.layers must be one of {LAYER_PATTERNS}, got {self.layers!r}")
        if self.balance_loss_weight < 0 or self.z_loss_weight < 0:
            raise ValueError("MoEConfig loss weights must be >= 0")
        if self.comm_dtype not in COMM_DTYPES:
            raise ValueError(f"MoEConfig.comm_dtype must be one of {COMM_DTYPES}, "
                             f"got {self.comm_dtype!r}")

    def is_moe_layer(self, index: int) -> bool:
        """Whether transformer layer ``index`` (0-based) uses an MoE feed-forward layer."""
        return self.layers == "every" or index % 2 == 1

    def num_moe_layers(self, n_layers: int) -> int:
        return sum(self.is_moe_layer(i) for i in range(n_layers))

    def capacity(self, num_tokens: int) -> int | None:
        """Token assignments one expert may take in a forward over ``num_tokens`` tokens."""
        if self.capacity_factor is None:
            return None
        return math.ceil(self.capacity_factor * num_tokens * self.top_k / self.num_experts)


def expert_ffn_params(d_model: int, d_ff: int, bias: bool = True) -> int:
    """Parameters of one expert: d_model -> d_ff -> d_model."""
    return 2 * d_model * d_ff + ((d_ff + d_model) if bias else 0)


def moe_layer_params(cfg: MoEConfig, d_model: int, d_ff: int, bias: bool = True) -> tuple[int, int]:
    """(total, active per token) parameters of one MoE layer: the router plus the experts, and
    the router plus the k experts one token runs through."""
    ff = cfg.expert_ffn_dim or d_ff
    one = expert_ffn_params(d_model, ff, bias)
    router = d_model * cfg.num_experts
    return router + cfg.num_experts * one, router + cfg.top_k * one
