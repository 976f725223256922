"""Floating-point operations of a training step, counted from the model's shapes.

What the hardware actually executes for one batch, matmul by matmul (a multiply-add is 2 FLOPs):

- per layer, for the B x L packed sequence: the q/k/v and output projections (8 B L d^2), the
  attention scores and the weighted sum over all L keys (4 B L^2 d; the mask does not skip work),
  and the feed-forward network (4 B L d f; an MoE layer runs top-k experts of width f per token
  plus its router);
- the output layer on the T target positions (2 B T d V);
- the patch CNN on every patch of every image in the batch, and the patch projection.

Backward costs twice the forward (gradients with respect to inputs and to weights), so a training
step is 3x. Element-wise work (norms, activations, softmax) is left out, as in the usual
"6 N" accounting; it is what separates achieved FLOP/s from the matmul peak.
"""

from __future__ import annotations

from model.config import ModelConfig
from model.data.batch import Batch


def patch_encoder_flops(cfg: ModelConfig, n_images: int) -> float:
    img = cfg.image
    if img.encoder != "cnn":
        return 0.0  # a frozen ResNet-50 is not counted here: ~4.1 GFLOPs per 224^2 image
    side, c_in, per_patch = img.patch_size, 3, 0.0
    for c in img.cnn_channels:
        side = (side + 1) // 2
        per_patch += 2 * c_in * c * 9 * side * side
        c_in = c
    per_patch += 2 * c_in * cfg.d_model
    return n_images * img.n_patches * per_patch


def forward_flops(cfg: ModelConfig, batch: int, length: int, target_len: int, n_images: int) -> float:
    d, f = cfg.d_model, cfg.d_ff
    tokens = batch * length
    per_layer_attn = 8 * tokens * d * d + 4 * batch * length * length * d
    total = 0.0
    for i in range(cfg.n_layers):
        if cfg.moe is not None and cfg.moe.is_moe_layer(i):
            width = cfg.moe.expert_ffn_dim or f
            ffn = cfg.moe.top_k * 4 * tokens * d * width + 2 * tokens * d * cfg.moe.num_experts
        else:
            ffn = 4 * tokens * d * f
        total += per_layer_attn + ffn
    total += 2 * batch * target_len * d * cfg.vocab_size
    return total + patch_encoder_flops(cfg, n_images)


def packed_length(batch: Batch, n_patches: int, pad_id: int = 0) -> int:
    """The sequence length the model runs for ``batch`` (longest sample after packing)."""
    n = (batch.masked_ids_BM != pad_id).sum(1) + (batch.target_ids_BT != pad_id).sum(1)
    if batch.has_image_B is not None:
        n = n + batch.has_image_B.long() * n_patches
    return int(n.max())


def train_step_flops(cfg: ModelConfig, batch: Batch) -> float:
    """FLOPs of forward + backward on ``batch`` (3x the forward)."""
    b = batch.target_ids_BT.shape[0]
    length = packed_length(batch, cfg.image.n_patches)
    n_images = b if batch.images_B3HW is not None else 0
    return 3 * forward_flops(cfg, b, length, batch.target_ids_BT.shape[1], n_images)
