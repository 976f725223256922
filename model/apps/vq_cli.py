"""``m6 vq``: the vector-quantised image autoencoder of text-to-image (paper section 4.1).

    m6 vq train --data out/corpus --output out/vq --steps 2000
    m6 vq reconstruct --checkpoint out/vq --image photo.jpg --out recon.png

``train`` learns the VQ-VAE on the images of image_text shards (or a JSONL file), holding out
rows by id hash, and prints the held-out reconstruction error (also in ``vq.json``; ``m6 eval
vq`` recomputes it). ``reconstruct`` encodes an image to its grid of codes, prints the grid and
saves the original beside its reconstruction.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import fields

import torch

from model.apps.vqvae import VQConfig


def _train(args) -> int:
    from model.apps.rows import open_rows
    from model.apps.vq_train import VQTrainConfig, train_vq

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    cfg = VQConfig(**{f.name: getattr(args, f.name) for f in fields(VQConfig)
                      if getattr(args, f.name, None) is not None})
    train = VQTrainConfig(**{f.name: getattr(args, f.name) for f in fields(VQTrainConfig)
                             if getattr(args, f.name, None) is not None})
    try:
        figures = train_vq(open_rows(args.data), args.output, cfg, train,
                           progress=not args.no_progress, device=args.device)
    except (FileNotFoundError, ValueError) as e:
        print(f"m6 vq train: {e}", file=sys.stderr)
        return 2
    held = figures.get("heldout")
    if held:
        print(f"held-out reconstruction on {held['images']} images: MSE {held['mse']:.5f} "
              f"(PSNR {held['psnr']:.2f} dB), {held['codes_used']} of {held['codebook_size']} "
              f"codes used")
    print(f"wrote {args.output} ({cfg.grid}x{cfg.grid} codes per {cfg.image_size}px image)")
    return 0


def _reconstruct(args) -> int:
    import torch

    from model.apps.imagine import save_grid
    from model.apps.vq_train import load_vq
    from model.apps.vqvae import reconstruction_error, vq_input
    from model.data.image import ImageDecodeError

    try:
        vq = load_vq(args.checkpoint)
        with open(args.image, "rb") as f:
            x = vq_input(f.read(), vq.cfg.image_size)[None]
    except (FileNotFoundError, ValueError, OSError, ImageDecodeError) as e:
        print(f"m6 vq reconstruct: {e}", file=sys.stderr)
        return 2
    codes = vq.encode(x)
    recon = vq.decode(codes)
    for row in codes[0].tolist():
        print(" ".join(f"{c:4d}" for c in row))
    err = reconstruction_error(x, recon)
    print(f"MSE {err['mse']:.5f} (PSNR {err['psnr']:.2f} dB)")
    if args.out:
        save_grid(torch.cat([x, recon]), args.out, scale=args.scale)
        print(f"wrote {args.out} (original, reconstruction)")
    return 0


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="m6 vq", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train the VQ-VAE on image_text shards")
    t.add_argument("--data", nargs="+", required=True)
    t.add_argument("--output", required=True)
    t.add_argument("--steps", type=int)
    t.add_argument("--batch-size", dest="batch_size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--warmup", dest="warmup_steps", type=int)
    t.add_argument("--val-fraction", dest="val_fraction", type=float)
    t.add_argument("--seed", type=int)
    t.add_argument("--threads", type=int)
    t.add_argument("--image-size", dest="image_size", type=int)
    t.add_argument("--downsample", type=int)
    t.add_argument("--hidden", type=int)
    t.add_argument("--codebook-size", dest="codebook_size", type=int)
    t.add_argument("--code-dim", dest="code_dim", type=int)
    t.add_argument("--no-progress", action="store_true")
    t.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    r = sub.add_parser("reconstruct", help="encode and decode one image")
    r.add_argument("--checkpoint", required=True)
    r.add_argument("--image", required=True)
    r.add_argument("--out")
    r.add_argument("--scale", type=int, default=4)
    args = p.parse_args(argv)
    return _train(args) if args.cmd == "train" else _reconstruct(args)
