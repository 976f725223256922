"""Training, saving and evaluating the VQ-VAE of text-to-image (``model/apps/vqvae.py``).

``train_vq`` streams the images of an image_text dataset (``model/apps/rows.py``: Parquet
shards or JSONL; the held-out rows, chosen by id hash, are never trained on), with random
horizontal flips, and optimises the reconstruction + commitment loss with AdamW and a warm-up +
cosine learning rate (``model/train/optim.py``'s schedule). It logs one JSON line per step to
``metrics.jsonl`` and shows a progress bar.

A VQ checkpoint is a folder holding ``vq.safetensors`` (weights and codebook buffers) and
``vq.json`` (the ``VQConfig``, the training options and the held-out reconstruction error),
written to a temporary folder and renamed into place. Training is short and restarts from
scratch (no resume).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model, save_model
from tqdm import tqdm

from model.apps.rows import RowSource, image_key
from model.apps.vqvae import VQVAE, VQConfig, reconstruction_error, vq_input
from model.data.image import ImageDecodeError
from model.train.optim import WarmupCosine

log = logging.getLogger(__name__)

WEIGHTS, META = "vq.safetensors", "vq.json"


@dataclass(frozen=True, kw_only=True)
class VQTrainConfig:
    steps: int = 2000
    batch_size: int = 32
    lr: float = 1e-3
    warmup_steps: int = 50
    weight_decay: float = 0.0
    val_fraction: float = 0.1
    seed: int = 0
    flip: bool = True
    threads: int = 0


def _decode(row: dict[str, Any], size: int) -> torch.Tensor | None:
    if not row.get("image"):
        return None
    try:
        return vq_input(row["image"], size)
    except ImageDecodeError as e:
        log.warning("row %s: %s: skipped", row.get("id"), e)
        return None


def heldout_images(source: RowSource, size: int, val_fraction: float, *, split: str = "val",
                   limit: int | None = None) -> torch.Tensor:
    """The distinct images of ``split`` as a (N, 3, size, size) tensor in [-1, 1]."""
    seen, out = set(), []
    for row in source.rows(split, val_fraction=val_fraction):
        k = image_key(row)
        if k in seen:
            continue
        seen.add(k)
        x = _decode(row, size)
        if x is not None:
            out.append(x)
        if limit is not None and len(out) >= limit:
            break
    if not out:
        return torch.empty(0, 3, size, size)
    return torch.stack(out)


@torch.no_grad()
def evaluate_vq(model: VQVAE, images: torch.Tensor, batch_size: int = 64) -> dict[str, float]:
    """Reconstruction error and codebook use of ``model`` on ``images``."""
    model.eval()
    if not len(images):
        raise ValueError("no images to evaluate the autoencoder on")
    recons, codes = [], []
    for s in range(0, len(images), batch_size):
        c = model.encode(images[s : s + batch_size])
        codes.append(c)
        recons.append(model.decode(c))
    recon = torch.cat(recons)
    flat = torch.cat(codes).flatten()
    counts = torch.bincount(flat, minlength=model.cfg.codebook_size).double()
    p = counts[counts > 0] / counts.sum()
    return {
        "images": len(images),
        **reconstruction_error(images, recon),
        "codes_used": int((counts > 0).sum()),
        "codebook_size": model.cfg.codebook_size,
        "code_perplexity": float(torch.exp(-(p * p.log()).sum())),
    }


def train_vq(source: RowSource, out: str | Path, cfg: VQConfig, train: VQTrainConfig, *,
             progress: bool = True, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Train a VQ-VAE on the training images of ``source``; write its checkpoint to ``out``;
    return its held-out figures."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if train.threads:
        torch.set_num_threads(train.threads)
    torch.manual_seed(train.seed)
    model = VQVAE(cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=train.lr, weight_decay=train.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, WarmupCosine(train.warmup_steps, train.steps, 0.1))
    stream = source.stream("train", val_fraction=train.val_fraction, seed=train.seed, loop=True,
                           shuffle=True)
    rows = iter(stream)
    gen = torch.Generator().manual_seed(train.seed)
    val = heldout_images(source, cfg.image_size, train.val_fraction)
    metrics = open(out / "metrics.jsonl", "w", encoding="utf-8")
    bar = tqdm(total=train.steps, disable=not progress, desc="vq train", dynamic_ncols=True)
    t0 = time.perf_counter()
    try:
        for step in range(1, train.steps + 1):
            model.train()
            batch = []
            while len(batch) < train.batch_size:
                x = _decode(next(rows), cfg.image_size)
                if x is not None:
                    batch.append(x)
            x = torch.stack(batch).to(device)
            if train.flip:
                flip = (torch.rand(len(x), generator=gen) < 0.5).to(device)
                x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            recon, codes, loss = model(x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            rec = {"step": step, "loss": float(loss.detach()),
                   "mse": float(((recon.detach() - x) / 2).pow(2).mean()),
                   "codes_in_batch": int(codes.unique().numel()), "lr": sched.get_last_lr()[0]}
            metrics.write(json.dumps(rec) + "\n")
            metrics.flush()
            bar.update(1)
            bar.set_postfix(loss=f"{rec['loss']:.4f}", codes=rec["codes_in_batch"])
    finally:
        bar.close()
        metrics.close()
    figures: dict[str, Any] = {"train_seconds": round(time.perf_counter() - t0, 1)}
    if len(val):
        figures["heldout"] = evaluate_vq(model, val.to(device))
    else:
        log.warning("no held-out images (val_fraction %s): no reconstruction error to report",
                    train.val_fraction)
    save_vq(model.cpu(), out, {"train": asdict(train), "data": source.description, **figures})
    return figures


def save_vq(model: VQVAE, out: str | Path, extra: dict[str, Any]) -> Path:
    """Write ``vq.safetensors`` and ``vq.json`` into folder ``out`` atomically."""
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp-vq")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_model(model, str(tmp / WEIGHTS))
    (tmp / META).write_text(json.dumps({"config": asdict(model.cfg), **extra}, indent=1) + "\n")
    out.mkdir(parents=True, exist_ok=True)
    for name in (WEIGHTS, META):
        (tmp / name).replace(out / name)
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def load_vq(path: str | Path, device: str | torch.device = "cpu") -> VQVAE:
    """The VQ-VAE saved in folder ``path`` (``m6 vq train --output``)."""
    p = Path(path)
    if not (p / WEIGHTS).is_file():
        raise FileNotFoundError(f"no VQ-VAE at {p} ({WEIGHTS} missing): train one with "
                                f"'m6 vq train --data out/corpus --output {p}'")
    meta = json.loads((p / META).read_text())
    model = VQVAE(VQConfig(**meta["config"]))
    missing, unexpected = load_model(model, str(p / WEIGHTS), strict=False, device=str(device))
    if missing or unexpected:
        raise ValueError(f"{p / WEIGHTS} does not fit its vq.json: missing {missing[:5]}, "
                         f"unexpected {unexpected[:5]}")
    return model.to(device).eval()
