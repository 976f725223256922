"""``m6 imagine``: generate an image from text (paper section 4.1).

    m6 imagine --checkpoint out/imagine --text 白色背景上有一个红色的圆形 --out red.png
    m6 imagine --checkpoint out/imagine --text 蓝色的三角形 --num-samples 8 --out grid.png

Samples the image's VQ codes with top-k sampling (--top-k, --temperature) from a checkpoint of
``m6 finetune imagine`` and decodes them with its VQ-VAE. Several samples are saved side by side
in one PNG; --scale enlarges the picture (nearest neighbour) for viewing.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="m6 imagine", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True, help="run or checkpoint of m6 finetune imagine")
    p.add_argument("--text", required=True)
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--num-samples", type=int, default=1)
    p.add_argument("--top-k", type=int, default=4, help="sample among the k likeliest codes "
                   "(4: measured cleanest on the shapes set; 1 is greedy)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scale", type=int, default=1)
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    from model.apps.finetune import load_app, use_threads
    from model.apps.imagine import imagine, save_grid

    try:
        loaded = load_app(args.checkpoint, args.device, expect="imagine")
        use_threads(loaded.config)
        images = imagine(loaded, args.text, num_samples=args.num_samples, top_k=args.top_k,
                         temperature=args.temperature, seed=args.seed)
    except (FileNotFoundError, ValueError) as e:
        print(f"m6 imagine: {e}", file=sys.stderr)
        return 2
    path = save_grid(images.cpu(), args.out, scale=args.scale)
    print(f"wrote {path} ({args.num_samples} image(s) of {images.shape[-1]}x{images.shape[-2]})")
    return 0
