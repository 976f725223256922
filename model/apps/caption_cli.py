"""``m6 caption``: describe images with a pretrained M6 (the image-to-text task, section 3.3).

    m6 caption --checkpoint out/pretrain photo.jpg [more.jpg ...]
    m6 caption --checkpoint out/caption photo.jpg      # fine-tuned by m6 finetune caption

The image goes in as patches on the encoder side, the masked-text part stays empty and the
decoder writes the description from [BOS], greedily unless a sampling option is given (the
length and repetition controls of ``m6 generate`` apply too). A checkpoint of ``m6 finetune
caption`` is an ordinary M6 checkpoint and loads the same way; ``m6 eval caption`` scores one
on held-out images (``model/apps/caption.py``).
"""

from __future__ import annotations

import argparse
import sys

from model.apps.finetune import use_threads
from model.cli.generate import add_sampling_args, sampling_from_args
from model.data.image import ImageDecodeError, load_image_file
from model.infer.generate import generate
from model.infer.pretrained import load_pretrained


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="m6 caption", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True, help="checkpoint folder or run folder")
    p.add_argument("images", nargs="+", help="image files (JPEG, PNG, WebP, ...)")
    p.add_argument("--device", default="cpu")
    add_sampling_args(p)
    args = p.parse_args(argv)
    try:
        pre = load_pretrained(args.checkpoint, args.device)
        use_threads(pre.config)
        sampling = sampling_from_args(args)
    except (FileNotFoundError, ValueError) as e:
        print(f"m6 caption: {e}", file=sys.stderr)
        return 2
    tok = pre.tokenizer
    status = 0
    for path in args.images:
        try:
            image = load_image_file(path, pre.config.model.image.image_size)
        except (OSError, ImageDecodeError) as e:
            print(f"m6 caption: {path}: {e}", file=sys.stderr)
            status = 1
            continue
        ids = generate(
            pre.model, prompt_ids=[], bos_id=tok.bos_id, eos_id=tok.eos_id,
            banned_ids=(tok.pad_id, tok.bos_id, tok.mask_id), image=image, sampling=sampling,
            use_cache=not args.no_cache, seed=args.seed,
        )[0]
        print(f"{path}\t{tok.decode(ids)}")
    return status
