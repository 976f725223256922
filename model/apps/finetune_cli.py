"""``m6 finetune``: fine-tune a pretrained M6 checkpoint for an application (paper section 4).

    m6 finetune caption --checkpoint out/pretrain --data out/corpus --output out/caption
    m6 finetune vqa     --checkpoint out/pretrain --data vqa.jsonl  --output out/vqa
    m6 finetune match   --checkpoint out/pretrain --data out/corpus --output out/match
    m6 finetune imagine --checkpoint out/pretrain --data out/corpus --vq out/vq --output out/imagine

--data is the corpus's image_text Parquet shards (a corpus root, a shard folder or files) or a
JSONL file (``model/apps/rows.py``). The rows held out by id hash (by default the pretraining
run's fraction, so they are rows pretraining never saw) are the validation split that
``m6 eval`` scores. The run folder gets what pretraining writes (config.json, metrics.jsonl,
tensorboard/, checkpoints/ with the tokenizer), and ``vq/`` for text-to-image. Running the same
command again resumes from the run's latest checkpoint (--fresh starts over).

The fine-tuning run config starts from the pretrained run's (learning rate halved, warm-up,
validation and checkpoint intervals derived from --steps); ``--config FILE`` (JSON, whole or a
part) is laid over it, then the flags given on the command line, then ``--set part.field=value``
(repeatable), as for ``m6 pretrain`` (``model/cli/options.py``).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import torch

from model.apps.finetune import APPS, AppTrainer, app_class
from model.apps.rows import open_rows
from model.cli.options import HelpFormatter, add_config_options, with_config_file, with_overrides
from model.config import RunConfig
from model.train.metrics import read_metrics

DEFAULT_STEPS = 300


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="m6 finetune", description=__doc__.split("\n")[0],
                                formatter_class=HelpFormatter)
    p.add_argument("app", choices=list(APPS), help="the application to fine-tune for")
    p.add_argument("--checkpoint", required=True, help="pretrained checkpoint or run folder")
    p.add_argument("--data", nargs="+", required=True,
                   help="image_text shards (corpus root, folder, files) or a .jsonl file")
    p.add_argument("--output", required=True, help="run folder")
    add_config_options(p)
    p.add_argument("--vq", help="imagine: the VQ-VAE folder from 'm6 vq train'")
    p.add_argument("--steps", type=int, help=f"optimiser steps (default: {DEFAULT_STEPS})")
    p.add_argument("--lr", type=float, help="peak learning rate (default: half the "
                   "pretraining run's)")
    p.add_argument("--warmup", type=int, help="warm-up steps (default: a tenth of --steps)")
    p.add_argument("--batch-size", type=int, help="samples per batch (default: the pretraining "
                                                  "run's)")
    p.add_argument("--val-fraction", type=float, help="held-out share of the rows by id hash "
                   "(default: the pretraining run's, so held-out rows were never trained on)")
    p.add_argument("--val-every", type=int, help="validate every N steps (default: a fifth of "
                                                 "--steps)")
    p.add_argument("--ckpt-every", type=int, help="checkpoint every N steps (default: only at "
                                                  "the end)")
    p.add_argument("--min-length", type=int, default=10, help="caption: shortest description "
                   "kept, in words (CJK characters + Latin words)")
    p.add_argument("--max-length", type=int, default=100, help="caption: longest description")
    p.add_argument("--seed", type=int, help="seed (default: the pretraining run's)")
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None,
                   help="bfloat16 autocast (default: the pretraining run's)")
    p.add_argument("--threads", type=int, help="torch CPU threads, 0: torch's default "
                                               "(default: the pretraining run's)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                   help="torch device")
    p.add_argument("--fresh", action="store_true", help="ignore checkpoints already in --output")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def finetune_config(args: argparse.Namespace, pcfg: RunConfig, app) -> RunConfig:
    """The fine-tuning run config: derived from the pretrained run's ``pcfg``, then --config,
    then the flags given, then --set."""
    steps = args.steps if args.steps is not None else DEFAULT_STEPS
    train = replace(
        pcfg.train, steps=steps, lr=pcfg.train.lr / 2, warmup_steps=max(1, steps // 10),
        val_every=max(1, steps // 5), ckpt_every=steps, log_every=min(pcfg.train.log_every, steps),
    )
    data = replace(pcfg.data, paths=tuple(args.data), num_workers=0)
    cfg = replace(pcfg, name=f"{pcfg.name}-{args.app}", model=app.model_config(pcfg.model),
                  data=data, train=train)
    cfg = with_config_file(cfg, args.config)
    given = {"steps": args.steps, "lr": args.lr, "warmup_steps": args.warmup,
             "val_every": args.val_every, "ckpt_every": args.ckpt_every, "seed": args.seed,
             "threads": args.threads, "bf16": args.bf16}
    cfg = replace(cfg, train=replace(cfg.train, **{k: v for k, v in given.items() if v is not None}))
    if args.batch_size:
        cfg = replace(cfg, data=replace(cfg.data, batch_size=args.batch_size))
    return with_overrides(cfg, args.overrides)


def make_app(args: argparse.Namespace, base_vocab: int, max_text_tokens: int, out: Path):
    cls = app_class(args.app)
    if args.app == "caption":
        return cls(max_text_tokens=max_text_tokens, min_length=args.min_length,
                   max_length=args.max_length)
    if args.app == "imagine":
        if not args.vq:
            raise ValueError("imagine needs --vq: the folder written by 'm6 vq train'")
        vq_dir = out / "vq"
        if Path(args.vq).resolve() != vq_dir.resolve():
            vq_dir.mkdir(parents=True, exist_ok=True)
            for f in ("vq.safetensors", "vq.json"):
                src = Path(args.vq) / f
                if not src.is_file():
                    raise FileNotFoundError(f"no {f} in {args.vq}: train one with 'm6 vq train'")
                shutil.copyfile(src, vq_dir / f)
        return cls.for_vq(str(vq_dir), base_vocab, max_text_tokens=max_text_tokens)
    return cls(max_text_tokens=max_text_tokens)


def build_trainer(args: argparse.Namespace) -> AppTrainer:
    """The ``AppTrainer`` of parsed ``m6 finetune`` arguments, initialised from the pretrained
    checkpoint (a resumed run then loads its own latest checkpoint over it)."""
    from model.infer.pretrained import load_pretrained

    out = Path(args.output)
    pre = load_pretrained(args.checkpoint, "cpu")
    source = open_rows(args.data)
    out.mkdir(parents=True, exist_ok=True)
    pcfg = pre.config
    app = make_app(args, pcfg.model.vocab_size, pcfg.tasks.max_text_tokens, out)
    cfg = finetune_config(args, pcfg, app)
    val_fraction = args.val_fraction if args.val_fraction is not None else pcfg.data.val_fraction
    tok_path = out / "tokenizer.json"
    pre.tokenizer.save(tok_path)
    if args.fresh and (out / "checkpoints").exists():
        shutil.rmtree(out / "checkpoints")
    return AppTrainer(cfg, out, tok_path, app=app, source=source, val_fraction=val_fraction,
                      pretrained=pre.model, device=args.device, progress=not args.no_progress)


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    out = Path(args.output)
    try:
        trainer = build_trainer(args)
        if not args.fresh and trainer.maybe_resume():
            print(f"resuming at step {trainer.step} from {trainer.ckpt_dir}", file=sys.stderr)
        trainer.train()
    except (FileNotFoundError, ValueError) as e:
        print(f"m6 finetune {args.app}: {e}", file=sys.stderr)
        return 2
    val = [r for r in read_metrics(out / "metrics.jsonl", "val") if "loss" in r]
    if val:
        print(f"{args.app}: validation loss {val[0]['loss']:.4f} at step {val[0]['step']} -> "
              f"{val[-1]['loss']:.4f} at step {val[-1]['step']}")
    print(f"checkpoints in {out / 'checkpoints'}; evaluate with 'm6 eval {args.app} "
          f"--checkpoint {out} --data {' '.join(args.data)}'")
    return 0
