"""``m6 vqa``: answer a question about an image with the paper's prompt pattern (section 4.2).

    m6 vqa --checkpoint out/vqa --image photo.jpg --question 图中的形状是什么颜色
    m6 vqa --checkpoint out/pretrain --image photo.jpg --question 这是什么   # zero-shot

The decoder is given ``<question>？回答：`` after [BOS] and the image on the encoder side; the
answer is decoded greedily up to [EOS] (or --max-new-tokens). A pretraining checkpoint answers
zero-shot, as in the paper's Figure 8; one from ``m6 finetune vqa`` is trained for it.
"""

from __future__ import annotations

import argparse
import sys

from model.apps.vqa import answer, vqa_prompt
from model.cli.generate import add_sampling_args, sampling_from_args
from model.data.image import ImageDecodeError, load_image_file


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="m6 vqa", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True, help="checkpoint folder or run folder")
    p.add_argument("--image", required=True)
    p.add_argument("--question", required=True, nargs="+", help="one or more questions")
    p.add_argument("--device", default="cpu")
    add_sampling_args(p)
    p.set_defaults(max_new_tokens=16)
    args = p.parse_args(argv)
    from model.apps.finetune import load_app, use_threads

    try:
        loaded = load_app(args.checkpoint, args.device, expect="vqa")
        use_threads(loaded.config)
        sampling = sampling_from_args(args)
        image = load_image_file(args.image, loaded.config.model.image.image_size)
        for q in args.question:
            a = answer(loaded.model, loaded.tokenizer, image, q, sampling=sampling, seed=args.seed)
            print(f"{vqa_prompt(q)}{a}")
    except (FileNotFoundError, ValueError, OSError, ImageDecodeError) as e:
        print(f"m6 vqa: {e}", file=sys.stderr)
        return 2
    return 0
