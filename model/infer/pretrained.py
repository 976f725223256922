"""Load a trained M6 for inference: the checkpoint's config, weights and tokenizer together.

A checkpoint folder (``model/train/checkpoint.py``) carries the resolved run config in
``trainer.json`` and a copy of the tokenizer it was trained with, so ``m6 generate`` and
``m6 caption`` need only ``--checkpoint`` (a checkpoint folder, or a run folder whose latest
checkpoint is used).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from model.config import RunConfig, run_config_from_dict
from model.data.tokenizer import M6Tokenizer
from model.nn.transformer import M6Model
from model.train.checkpoint import load_weights, read_config, resolve_checkpoint, tokenizer_file


@dataclass
class Pretrained:
    model: M6Model
    tokenizer: M6Tokenizer
    config: RunConfig
    path: Path


def load_pretrained(path: str | Path, device: str | torch.device = "cpu") -> Pretrained:
    ckpt = resolve_checkpoint(path)
    cfg = run_config_from_dict(read_config(ckpt))
    tok_path = tokenizer_file(ckpt)
    tokenizer = M6Tokenizer.load(tok_path)
    if tokenizer.vocab_size != cfg.model.vocab_size:
        raise ValueError(
            f"tokenizer {tok_path} has {tokenizer.vocab_size} tokens but the model was trained "
            f"with {cfg.model.vocab_size}: use the tokenizer saved with the checkpoint"
        )
    model = M6Model(cfg.model)
    load_weights(model, ckpt, device)
    model.to(device).eval()
    return Pretrained(model, tokenizer, cfg, ckpt)
