"""``m6 match``: the probability that a text describes an image (paper section 4.6).

    m6 match --checkpoint out/match --image photo.jpg --text 白色背景上有一个红色的圆形
    m6 match --checkpoint out/match --image photo.jpg --text 文本一 文本二 文本三

Prints one line per text: the probability from the binary head of a checkpoint trained by
``m6 finetune match``, a tab, the text.
"""

from __future__ import annotations

import argparse
import sys

from model.data.image import ImageDecodeError, load_image_file


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="m6 match", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True, help="run or checkpoint of m6 finetune match")
    p.add_argument("--image", required=True)
    p.add_argument("--text", required=True, nargs="+", help="one or more texts to score")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    from model.apps.finetune import load_app, use_threads
    from model.apps.match import match_probability

    try:
        loaded = load_app(args.checkpoint, args.device, expect="match")
        use_threads(loaded.config)
        size = loaded.config.model.image.image_size
        image = load_image_file(args.image, size)
        for text in args.text:
            prob = match_probability(loaded.model, loaded.tokenizer, image, text, size,
                                     loaded.app.max_text_tokens)
            print(f"{prob:.4f}\t{text}")
    except (FileNotFoundError, ValueError, OSError, ImageDecodeError) as e:
        print(f"m6 match: {e}", file=sys.stderr)
        return 2
    return 0
