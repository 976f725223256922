"""Parameter counts of a model config, without allocating a single weight.

The model is built on PyTorch's ``meta`` device: every parameter has its shape and no storage,
so the count of M6-10B (or of the 100B MoE model) costs milliseconds and no memory. Tied weights
(the output layer shares the word embedding) are counted once.

``active`` is what one token runs through: in an MoE layer only the router and the top-k experts
of the layer (``model.moe_config.moe_layer_params``), everywhere else the whole model.

Table 4 of the paper gives the reference sizes (``PAPER_PARAMS``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from model.config import ModelConfig
from model.nn.ffn import FeedForward

PAPER_PARAMS = {"base": 327e6, "m6_10b": 10e9, "m6_100b": 100e9}
"""n_param of Table 4, by preset name."""


@dataclass(frozen=True)
class ParamCount:
    total: int
    active: int  # per token
    embeddings: int  # word, position, segment
    image_encoder: int
    attention: int
    feed_forward: int  # dense FFNs and MoE layers (all experts)
    norms: int

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def build_on_meta(cfg: ModelConfig) -> torch.nn.Module:
    """The model with shapes only (``meta`` tensors); fine for counting, not for running."""
    from model.nn.transformer import M6Model

    with torch.device("meta"):
        return M6Model(cfg)


def count_parameters(cfg: ModelConfig) -> ParamCount:
    model = build_on_meta(cfg)
    groups = {"embeddings": 0, "image_encoder": 0, "attention": 0, "feed_forward": 0, "norms": 0}
    seen: set[int] = set()
    for name, p in model.named_parameters():  # named_parameters skips tied duplicates
        if id(p) in seen:
            continue
        seen.add(id(p))
        n = p.numel()
        if name.startswith(("tok_emb", "pos_emb", "seg_emb")):
            groups["embeddings"] += n
        elif name.startswith("patch_encoder"):
            groups["image_encoder"] += n
        elif ".attn." in name:
            groups["attention"] += n
        elif ".ffn." in name:
            groups["feed_forward"] += n
        else:
            groups["norms"] += n
    total = sum(groups.values())
    active = total
    if cfg.moe is not None:
        from model.moe_config import moe_layer_params

        for block in model.blocks:
            if not isinstance(block.ffn, FeedForward):
                layer_total, layer_active = moe_layer_params(cfg.moe, cfg.d_model, cfg.d_ff)
                active -= layer_total - layer_active
    return ParamCount(total=total, active=active, **groups)
