"""``m6 pretrain``: pretrain M6 on the corpus shards.

    m6 pretrain --preset tiny --data out/corpus --output out/pretrain --steps 600

The run folder gets ``config.json`` (the resolved config), ``tokenizer.json`` (trained on the
text shards first if the folder has none and ``--tokenizer`` is not given), ``metrics.jsonl``,
``tensorboard/`` and ``checkpoints/``. Running the same command again resumes from the latest
checkpoint (``--fresh`` starts over instead). ``--checkpoint-dir URL`` puts the checkpoints on
any fsspec path instead (``s3://bucket/run/checkpoints``; ``model/train/ckpt_store.py``).

Every setting of the run config (``model/config.py``) can be given: a JSON file with
``--config FILE`` (a run's ``config.json`` reruns that run), single settings with
``--set part.field=value``; the common flags (``--steps``, ``--lr``, ``--batch-size`` ...) are
shortcuts. Precedence, lowest first: ``--preset``, ``--config``, the flags, ``--set``
(``model/cli/options.py``); ``m6 pretrain --help`` lists every option with its default:

    m6 pretrain --config out/pretrain/config.json --set train.lr=1e-4 --output out/lr1e-4

Under torchrun (``make pretrain NPROC=2``) every process runs this command; rank 0 trains the
tokenizer if needed and writes the run folder, the others wait for it
(``model/distributed/trainer.py``, ``model/distributed/parallel.py``):

    torchrun --standalone --nproc_per_node=2 -m m6.cli pretrain --preset tiny --data out/corpus

``--wandb PROJECT`` also sends the metrics to Weights & Biases (``model/train/wandb_log.py``;
optional, off by default).
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

import fsspec
import torch

from model.cli.options import HelpFormatter, add_config_options, with_config_file, with_overrides
from model.config import RunConfig, TaskConfig
from model.data.shards import find_shards
from model.data.tokenizer import M6Tokenizer, iter_texts, train_tokenizer
from model.distributed.parallel import DistEnv, barrier, init_process_group, shutdown
from model.distributed.trainer import make_trainer
from model.presets import PRESETS, get_preset
from model.train.metrics import read_metrics
from model.train.wandb_log import MODES, WandbOptions

log = logging.getLogger("m6.pretrain")


def build_config(args: argparse.Namespace) -> RunConfig:
    """The run config of parsed arguments: preset, then --config, then the flags, then --set."""
    cfg = with_config_file(get_preset(args.preset), args.config)
    data, train = cfg.data, cfg.train
    if args.data:
        data = replace(data, paths=tuple(args.data))
    for name in ("batch_size", "num_workers"):
        value = getattr(args, name)
        if value is not None:
            data = replace(data, **{name: value})
    overrides = {
        "steps": args.steps, "lr": args.lr, "grad_accum": args.grad_accum, "seed": args.seed,
        "val_every": args.val_every, "ckpt_every": args.ckpt_every, "warmup_steps": args.warmup,
        "threads": args.threads, "fsdp": args.fsdp, "bf16": args.bf16,
        "activation_checkpointing": args.activation_checkpointing,
    }
    train = replace(train, **{k: v for k, v in overrides.items() if v is not None})
    tasks = cfg.tasks
    if args.task_weights:
        weights = dict(tasks.weights)
        for item in args.task_weights:
            name, _, w = item.partition("=")
            if name not in weights:
                raise ValueError(f"unknown task {name!r} in --task-weights; tasks are {list(weights)}")
            weights[name] = float(w)
        tasks = replace(tasks, weights=tuple(weights.items()))
    return with_overrides(replace(cfg, data=data, train=train, tasks=tasks), args.overrides)


def wandb_options(args: argparse.Namespace) -> WandbOptions | None:
    """The W&B options of the flags; None without --wandb (then wandb is never imported)."""
    if not args.wandb:
        if args.wandb_name or args.wandb_entity or args.wandb_mode:
            raise ValueError("--wandb-name, --wandb-entity and --wandb-mode need --wandb PROJECT")
        return None
    return WandbOptions(project=args.wandb, name=args.wandb_name, entity=args.wandb_entity,
                        mode=args.wandb_mode)


def ensure_tokenizer(cfg: RunConfig, out: Path, given: str | None, *,
                     progress: bool = False) -> Path:
    """The tokenizer to train with: ``given``, the run folder's, or one trained now."""
    if given:
        return Path(given)
    path = out / "tokenizer.json"
    if path.is_file():
        return path
    files = find_shards(cfg.data.paths, "text")
    if not files:
        raise SystemExit(
            f"m6 pretrain: no text shards under {list(cfg.data.paths)} to train a tokenizer on; "
            "run 'make corpus' first or pass --tokenizer"
        )
    log.info("training a %d-token WordPiece tokenizer on %d text shards -> %s",
             cfg.tokenizer_vocab_size, len(files), path)
    tok = train_tokenizer(iter_texts(files), cfg.tokenizer_vocab_size, show_progress=progress)
    tok.save(path)
    return path


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="m6 pretrain", description=__doc__.split("\n")[0],
                                formatter_class=HelpFormatter)
    p.add_argument("--preset", default="tiny", choices=list(PRESETS),
                   help="the base run config (model/presets.py)")
    add_config_options(p)
    p.add_argument("--data", nargs="+", metavar="PATH",
                   help="corpus root(s) or shard folders (data.paths)")
    p.add_argument("--output", default="out/pretrain", help="run folder")
    p.add_argument("--tokenizer", help="tokenizer.json to use (default: the run folder's, or "
                                       "one trained on the text shards into it)")
    p.add_argument("--steps", type=int, help="optimiser steps (train.steps)")
    p.add_argument("--lr", type=float, help="peak learning rate (train.lr)")
    p.add_argument("--warmup", type=int, help="warm-up steps (train.warmup_steps)")
    p.add_argument("--batch-size", dest="batch_size", type=int,
                   help="samples per batch and process (data.batch_size)")
    p.add_argument("--grad-accum", dest="grad_accum", type=int,
                   help="batches per optimiser step (train.grad_accum)")
    p.add_argument("--workers", dest="num_workers", type=int,
                   help="data-loader worker processes (data.num_workers)")
    p.add_argument("--seed", type=int, help="seed of weights, data order and tasks (train.seed)")
    p.add_argument("--val-every", dest="val_every", type=int,
                   help="validate every N steps, 0: never (train.val_every)")
    p.add_argument("--ckpt-every", dest="ckpt_every", type=int,
                   help="checkpoint every N steps and at the end (train.ckpt_every)")
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None,
                   help="bfloat16 autocast (train.bf16)")
    p.add_argument("--activation-checkpointing", action=argparse.BooleanOptionalAction,
                   default=None, help="recompute activations in backward to save memory "
                                      "(train.activation_checkpointing)")
    p.add_argument("--task-weights", nargs="+", metavar="TASK=W",
                   help=f"change the weights of tasks {', '.join(dict(TaskConfig().weights))} "
                        "(tasks.weights)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                   help="torch device")
    p.add_argument("--threads", type=int, help="torch CPU threads, 0: torch's default "
                                               "(train.threads)")
    p.add_argument("--fsdp", action=argparse.BooleanOptionalAction, default=None,
                   help="under torchrun: shard weights and optimiser state over the processes "
                        "(train.fsdp)")
    p.add_argument("--checkpoint-dir", dest="checkpoint_dir", metavar="URL",
                   help="where checkpoints go: a folder or any fsspec URL (s3://bucket/run, "
                        "gs://..., with s3fs/gcsfs installed); default: OUTPUT/checkpoints")
    p.add_argument("--fresh", action="store_true", help="ignore existing checkpoints in --output "
                                                        "(or --checkpoint-dir)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--wandb", metavar="PROJECT",
                   help="also log the metrics to this Weights & Biases project (needs the wandb "
                        "extra; default: off, metrics.jsonl and TensorBoard only)")
    p.add_argument("--wandb-name", metavar="NAME", help="--wandb: the W&B run's display name")
    p.add_argument("--wandb-entity", metavar="ENTITY", help="--wandb: W&B team or user")
    p.add_argument("--wandb-mode", choices=MODES,
                   help="--wandb: online, or offline (a local run under <output>/wandb/ for "
                        "'wandb sync'); default: W&B's own setting (WANDB_MODE)")
    return p


def remove_checkpoints(url: str | Path) -> None:
    """``--fresh``: delete the checkpoint folder (local or fsspec URL) if there is one."""
    fs, path = fsspec.core.url_to_fs(str(url))
    if fs.exists(path):
        fs.rm(path, recursive=True)


def main(argv: list[str]) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    env = DistEnv.from_environ()
    device = args.device
    if env.distributed:
        device = init_process_group(env, device)
    try:
        return _run(args, env, device)
    except ValueError as e:  # bad input found before training (an incomplete corpus): one line
        print(f"m6 pretrain: {e}", file=sys.stderr)
        return 2
    finally:
        shutdown()


def _run(args: argparse.Namespace, env: DistEnv, device) -> int:
    main_rank = env.rank == 0
    out = Path(args.output)
    try:
        cfg = build_config(args)
        wandb = wandb_options(args)
    except ValueError as e:
        print(f"m6 pretrain: {e}", file=sys.stderr)
        return 2
    ckpt_dir = args.checkpoint_dir or out / "checkpoints"
    if main_rank:
        if args.fresh:
            remove_checkpoints(ckpt_dir)
        out.mkdir(parents=True, exist_ok=True)
        tok_path = ensure_tokenizer(cfg, out, args.tokenizer, progress=not args.no_progress)
    barrier()  # the tokenizer and a --fresh run folder are ready for every rank
    if not main_rank:
        tok_path = ensure_tokenizer(cfg, out, args.tokenizer)
    tok = M6Tokenizer.load(tok_path)
    cfg = replace(cfg, model=replace(cfg.model, vocab_size=tok.vocab_size))
    try:
        trainer = make_trainer(cfg, out, tok_path, env, device=device,
                               progress=not args.no_progress, checkpoint_dir=ckpt_dir,
                               wandb=wandb)
        if not args.fresh and trainer.maybe_resume() and main_rank:
            print(f"resuming at step {trainer.step} from {trainer.ckpt_dir}", file=sys.stderr)
        trainer.train()
    except ValueError as e:
        print(f"m6 pretrain: {e}", file=sys.stderr)
        return 2
    if not main_rank:
        return 0
    val = read_metrics(out / "metrics.jsonl", "val")
    if val:
        first, last = val[0], val[-1]
        best = min(val, key=lambda r: r["loss"])
        print(f"validation loss: {first['loss']:.4f} at step {first['step']} -> "
              f"{last['loss']:.4f} at step {last['step']} (best {best['loss']:.4f} at step "
              f"{best['step']})")
    print(f"checkpoints in {ckpt_dir}; metrics in {out / 'metrics.jsonl'}")
    return 0
