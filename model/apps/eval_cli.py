"""``m6 eval``: one command per application that prints its metric and writes it as JSON.

    m6 eval caption --checkpoint out/caption --data out/corpus     # BLEU-4, CIDEr-D
    m6 eval vqa     --checkpoint out/vqa     --data vqa.jsonl      # answer accuracy
    m6 eval match   --checkpoint out/match   --data out/corpus     # balanced accuracy, AUC
    m6 eval imagine --checkpoint out/imagine --data out/corpus     # code perplexity, pixel error
    m6 eval vq      --checkpoint out/vq      --data out/corpus     # reconstruction MSE, PSNR
    m6 eval poem    --checkpoint out/pretrain --data poems.json    # constraint pass rates

By default the held-out split is scored: the rows whose id hash falls under the fine-tuning
run's validation fraction (``--split all`` scores every row; ``--val-fraction`` overrides). The
figures go to stdout and, as JSON, to --out (default: ``eval_<app>.json`` next to the
checkpoint). A pretraining checkpoint is accepted for caption and vqa (zero-shot, as the paper's
Figure 8 does for VQA).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

APPS = ("caption", "vqa", "match", "imagine", "vq", "poem")


def _eval_poem(args) -> tuple[dict[str, Any], Path]:
    from model.apps.finetune import use_threads
    from model.apps.poem import check_poem, read_poems, write_poems
    from model.infer.pretrained import load_pretrained

    pre = load_pretrained(args.checkpoint, args.device)
    use_threads(pre.config, args.threads)
    poems = read_poems(args.data)
    real = [check_poem(p.text) for p in poems]
    titled = [p for p in poems if p.title.strip()][: args.limit or 20]
    generated, passed = [], 0
    for i, p in enumerate(titled):
        chars = (5, 7)[i % 2]
        text = write_poems(pre.model, pre.tokenizer, title=p.title, author=p.author or None,
                           chars=chars, seed=i)[0]
        r = check_poem(text)
        passed += r.ok
        if len(generated) < 4:
            generated.append({"title": p.title, "chars": chars, "poem": text, "ok": r.ok})
    result = {"app": "poem", "real_poems": len(real),
              "real_pass_rate": sum(r.ok for r in real) / max(1, len(real)),
              "generated": len(titled), "generated_pass_rate": passed / max(1, len(titled)),
              "examples": generated}
    return result, pre.path


def _eval_vq(args) -> tuple[dict[str, Any], Path]:
    from model.apps.rows import open_rows
    from model.apps.vq_train import evaluate_vq, heldout_images, load_vq

    if args.threads:
        torch.set_num_threads(args.threads)
    vq = load_vq(args.checkpoint, args.device)
    meta = json.loads((Path(args.checkpoint) / "vq.json").read_text())
    vf = args.val_fraction if args.val_fraction is not None else meta["train"]["val_fraction"]
    images = heldout_images(open_rows(args.data), vq.cfg.image_size, vf, split=args.split,
                            limit=args.limit)
    return {"app": "vq", "split": args.split, **evaluate_vq(vq, images.to(args.device))}, \
        Path(args.checkpoint)


def _eval_app(args) -> tuple[dict[str, Any], Path]:
    from model.apps.finetune import load_app, use_threads
    from model.apps.rows import open_rows

    loaded = load_app(args.checkpoint, args.device, expect=args.app)
    use_threads(loaded.config, args.threads)
    source = open_rows(args.data)
    kw = dict(split=args.split, val_fraction=args.val_fraction, limit=args.limit)
    if args.app == "imagine" and args.top_k is not None:
        kw["top_k"] = args.top_k
    if args.app == "caption":
        from model.apps.caption import evaluate_caption as fn
    elif args.app == "vqa":
        from model.apps.vqa import evaluate_vqa as fn
    elif args.app == "match":
        from model.apps.match import evaluate_match as fn
    else:
        from model.apps.imagine import evaluate_imagine as fn
    return fn(loaded, source, **kw), loaded.path


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="m6 eval", description=__doc__.split("\n")[0])
    p.add_argument("app", choices=APPS)
    p.add_argument("--checkpoint", required=True,
                   help="fine-tuned run or checkpoint folder (vq: the VQ-VAE folder)")
    p.add_argument("--data", nargs="+", required=True,
                   help="image_text shards or a .jsonl file (poem: a poems file)")
    p.add_argument("--split", default="val", choices=("val", "all"))
    p.add_argument("--val-fraction", type=float, help="default: the checkpoint's")
    p.add_argument("--limit", type=int, help="score at most this many rows (poem: titles)")
    p.add_argument("--out", help="JSON file to write (default: eval_<app>.json beside the "
                   "checkpoint)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: the run's)")
    p.add_argument("--top-k", type=int, help="imagine: top-k of the sampled codes (default 4)")
    args = p.parse_args(argv)
    if args.app == "poem":
        args.data = args.data[0]
    t0 = time.perf_counter()
    try:
        if args.app == "poem":
            result, where = _eval_poem(args)
        elif args.app == "vq":
            result, where = _eval_vq(args)
        else:
            result, where = _eval_app(args)
    except (FileNotFoundError, ValueError) as e:
        print(f"m6 eval {args.app}: {e}", file=sys.stderr)
        return 2
    result["checkpoint"] = str(where)
    result["data"] = args.data if isinstance(args.data, str) else list(args.data)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    for k, v in result.items():
        if isinstance(v, float) and k != "seconds":
            print(f"{k}: {v:.4f}")
        elif isinstance(v, (int, str)):
            print(f"{k}: {v}")
    out = Path(args.out) if args.out else Path(where) / f"eval_{args.app}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0
