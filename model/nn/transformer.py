"""M6: one transformer stack that encodes and decodes (paper section 3.2).

The input is one sequence [image patches][masked text][target text]. Each part is embedded
(patches by ``PatchEncoder`` with 2-D positions; text by the word embedding plus a 1-D position
that restarts in each text part) and gets its segment embedding; the blocks attend under the
prefix-bidirectional, target-causal mask (``model/nn/masks.py``); the output layer predicting the
next target word is tied to the word embedding ("we tie its weights to those of the embedding
layer"). Logits are computed for the target part only: nothing else carries a loss.

``forward`` runs the whole sequence (training, validation, generation without a cache). With a
``KVCache``, ``forward`` fills the cache with the prefix and the decoder input given, and
``decode_step`` then feeds new target tokens one step at a time.

Legend: B batch, P patches, M masked-text length, T target length, L whole sequence, D model
width, V vocabulary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from model.config import SEGMENT_IMAGE, SEGMENT_MASKED, SEGMENT_TARGET, ModelConfig
from model.data.batch import Batch
from model.nn.attention import Attention, KVCache
from model.nn.block import Block
from model.nn.experts import Experts
from model.nn.ffn import FeedForward, TokenInfo
from model.nn.masks import attention_mask
from model.nn.patch_encoder import PatchEncoder

PAD_ID = 0


@dataclass
class ModelOutput:
    logits_BTV: torch.Tensor  # over the target positions only
    aux_loss: torch.Tensor  # sum of the feed-forward layers' auxiliary losses (0 for dense)


class M6Model(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(cfg.max_text_len, cfg.d_model)
        self.seg_emb = nn.Embedding(3, cfg.d_model)
        self.patch_encoder = PatchEncoder(cfg.image, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg, i) for i in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.activation_checkpointing = False
        self.reset_parameters()

    # ------------------------------------------------------------------ setup

    def reset_parameters(self) -> None:
        """Normal(0, init_std) weights, zero biases, unit layer-norm gains; the residual output
        projections (attention's ``out``, the FFN's ``fc2``, the experts' ``w2``) scaled down by
        sqrt(2 * n_layers) (GPT-2) so the residual stream's variance does not grow with depth;
        He init for the patch CNN's convolutions; a pretrained ResNet backbone is left alone.

        Chosen by module type, visiting modules in ``self.modules()`` order, which is the order of
        ``named_parameters()``: the random draws come in the same order as always, so a seed
        gives the same weights. A module type with parameters of its own that is not listed here
        is an error rather than a silent default."""
        std = self.cfg.init_std
        residual_std = std / math.sqrt(2 * self.cfg.n_layers)
        residual_out = {id(m.out) for m in self.modules() if isinstance(m, Attention)}
        residual_out |= {id(m.fc2) for m in self.modules() if isinstance(m, FeedForward)}
        pretrained = (set(map(id, self.patch_encoder.backbone.modules()))
                      if self.cfg.image.encoder == "resnet50" else set())
        for module in self.modules():
            if id(module) in pretrained:
                continue
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0,
                                residual_std if id(module) in residual_out else std)
                _zeros(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, 0.0, std)
            elif isinstance(module, nn.LayerNorm):
                if module.weight is not None:
                    nn.init.ones_(module.weight)
                _zeros(module.bias)
            elif isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                _zeros(module.bias)
            elif isinstance(module, Experts):
                nn.init.normal_(module.w1, 0.0, std)
                nn.init.zeros_(module.b1)
                nn.init.normal_(module.w2, 0.0, residual_std)
                nn.init.zeros_(module.b2)
            elif next(module.parameters(recurse=False), None) is not None:
                raise TypeError(f"M6Model.reset_parameters: no initialisation rule for "
                                f"{type(module).__name__}; add one")

    # ------------------------------------------------------------------ embedding

    def _text(self, ids_BN: torch.Tensor, segment: int, start: int = 0):
        n = ids_BN.shape[1]
        pos = torch.arange(start, start + n, device=ids_BN.device)
        if start + n > self.cfg.max_text_len:
            raise ValueError(
                f"text of {start + n} tokens is longer than max_text_len {self.cfg.max_text_len}"
            )
        x = self.tok_emb(ids_BN) + self.pos_emb(pos) + self.seg_emb.weight[segment]
        seg_BN = torch.full_like(ids_BN, segment)
        return x, seg_BN, ids_BN != PAD_ID

    def embed(self, batch: Batch):
        """(x_BLD, segment_BL, valid_BL, target_index_BT) of the packed sequence.

        The parts are embedded side by side ([patches][masked text][target text], each padded
        to the longest in the batch), then each sample's real positions are moved to the front
        in the same order: a sample without an image or masked text costs no padding there.
        ``target_index_BT`` says where each target position landed.
        """
        parts, segs, valids = [], [], []
        b = batch.target_ids_BT.shape[0]
        if batch.images_B3HW is not None:
            x = self.patch_encoder(batch.images_B3HW) + self.seg_emb.weight[SEGMENT_IMAGE]
            p = x.shape[1]
            has = batch.has_image_B
            if has is None:
                has = torch.ones(b, dtype=torch.bool, device=x.device)
            parts.append(x)
            segs.append(torch.full((b, p), SEGMENT_IMAGE, device=x.device, dtype=torch.long))
            valids.append(has[:, None].expand(b, p))
        if batch.masked_ids_BM.shape[1]:
            for part, lst in zip(self._text(batch.masked_ids_BM, SEGMENT_MASKED), (parts, segs, valids)):
                lst.append(part)
        for part, lst in zip(self._text(batch.target_ids_BT, SEGMENT_TARGET), (parts, segs, valids)):
            lst.append(part)
        x_BLD = torch.cat(parts, 1)
        segment_BL, valid_BL = torch.cat(segs, 1), torch.cat(valids, 1)
        t = batch.target_ids_BT.shape[1]
        n_BL = valid_BL.sum(1)
        order_BL = torch.argsort((~valid_BL).to(torch.int8), dim=1, stable=True)
        length = int(n_BL.max())
        order_BL = order_BL[:, :length]
        x_BLD = x_BLD.gather(1, order_BL[:, :, None].expand(-1, -1, x_BLD.shape[2]))
        segment_BL, valid_BL = segment_BL.gather(1, order_BL), valid_BL.gather(1, order_BL)
        prefix_B = n_BL - valids[-1].sum(1)
        target_index_BT = (prefix_B[:, None] + torch.arange(t, device=x_BLD.device)).clamp(
            max=length - 1
        )
        return self.drop(x_BLD), segment_BL, valid_BL, target_index_BT

    # ------------------------------------------------------------------ running

    def _run_blocks(self, x_BLD, mask, info, cache):
        aux_total = x_BLD.new_zeros((), dtype=torch.float32)
        for block in self.blocks:
            if self.activation_checkpointing and self.training and cache is None:
                x_BLD, aux = checkpoint(block, x_BLD, mask, info, use_reentrant=False)
            else:
                x_BLD, aux = block(x_BLD, mask, info, cache)
            if aux is not None:
                aux_total = aux_total + aux.float()
        return self.ln_f(x_BLD), aux_total

    def logits(self, h_BND: torch.Tensor) -> torch.Tensor:
        """The output layer, tied to the word embedding."""
        return F.linear(h_BND, self.tok_emb.weight)

    def forward(self, batch: Batch, cache: KVCache | None = None) -> ModelOutput:
        h_BTD, aux = self.hidden_states(batch, cache)
        return ModelOutput(self.logits(h_BTD), aux)

    def hidden_states(
        self, batch: Batch, cache: KVCache | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(h_BTD, aux_loss): the final (layer-normed) hidden states at the target positions,
        before the output layer. Application heads (image-text matching) read them."""
        x_BLD, segment_BL, valid_BL, target_index_BT = self.embed(batch)
        t = batch.target_ids_BT.shape[1]
        if cache is not None:
            cache.add_tokens(segment_BL, valid_BL)
        mask = attention_mask(segment_BL, valid_BL)
        info = TokenInfo(segment_BL, valid_BL, batch.task_B)
        h_BLD, aux = self._run_blocks(x_BLD, mask, info, cache)
        if cache is not None:
            cache.advance(t)
        h_BTD = h_BLD.gather(1, target_index_BT[:, :, None].expand(-1, -1, h_BLD.shape[2]))
        return h_BTD, aux

    def decode_step(self, ids_BN: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """Logits (B, N, V) for N new target tokens appended after what ``cache`` holds."""
        x_BND, seg_BN, valid_BN = self._text(ids_BN, SEGMENT_TARGET, cache.target_len)
        valid_BN = torch.ones_like(valid_BN)  # generated tokens are real even if they are [PAD]
        start = cache.length
        cache.add_tokens(seg_BN, valid_BN)
        end = start + ids_BN.shape[1]
        mask = attention_mask(cache.segment_BK[:, :end], cache.valid_BK[:, :end], q_start=start)
        info = TokenInfo(seg_BN, valid_BN, None)
        h_BND, _ = self._run_blocks(x_BND, mask, info, cache)
        cache.advance(ids_BN.shape[1])
        return self.logits(h_BND)

    def new_cache(self, batch: int, max_len: int) -> KVCache:
        p = next(self.parameters())
        return KVCache(
            self.cfg.n_layers, batch, self.cfg.n_heads, self.cfg.head_dim, max_len,
            p.dtype, p.device,
        )


def _zeros(bias: torch.Tensor | None) -> None:
    if bias is not None:
        nn.init.zeros_(bias)
