"""``m6 pretrain``: pretrain M6 on the corpus shards.

    m6 pretrain --preset tiny --data out/corpus --output out/pretrain --steps 600

The run folder gets ``config.json`` (the resolved config), ``tokenizer.json`` (trained on the
text shards first if the folder has none and ``--tokenizer`` is not given), ``metrics.jsonl``,
``tensorboard/`` and ``checkpoints/``. Running the same command again resumes from the latest
checkpoint (``--fresh`` starts over instead).

Under torchrun (``make pretrain NPROC=2``) every process runs this command; rank 0 trains the
tokenizer if needed and writes the run folder, the others wait for it
(``model/dist_trainer.py``, ``model/parallel.py``):

    torchrun --standalone --nproc_per_node=2 -m m6.cli pretrain --preset tiny --data out/corpus
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import torch

from model.config import RunConfig, TaskConfig
from model.dist_trainer import make_trainer
from model.metrics import read_metrics
from model.parallel import DistEnv, barrier, init_process_group, shutdown
from model.presets import PRESETS, get_preset
from model.shards import find_shards
from model.tokenizer import M6Tokenizer, iter_texts, train_tokenizer

log = logging.getLogger("m6.pretrain")


def build_config(args: argparse.Namespace) -> RunConfig:
    cfg = get_preset(args.preset)
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
                raise SystemExit(f"m6 pretrain: unknown task {name!r}; tasks are {list(weights)}")
            weights[name] = float(w)
        tasks = replace(tasks, weights=tuple(weights.items()))
    return replace(cfg, data=data, train=train, tasks=tasks)


def ensure_tokenizer(cfg: RunConfig, out: Path, given: str | None) -> Path:
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
    tok = train_tokenizer(iter_texts(files), cfg.tokenizer_vocab_size)
    tok.save(path)
    return path


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="m6 pretrain", description=__doc__.split("\n")[0])
    p.add_argument("--preset", default="tiny", choices=list(PRESETS))
    p.add_argument("--data", nargs="+", help="corpus root(s) or shard folders (default: preset's)")
    p.add_argument("--output", default="out/pretrain", help="run folder")
    p.add_argument("--tokenizer", help="tokenizer.json to use (default: train one into --output)")
    p.add_argument("--steps", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--warmup", type=int)
    p.add_argument("--batch-size", dest="batch_size", type=int)
    p.add_argument("--grad-accum", dest="grad_accum", type=int)
    p.add_argument("--workers", dest="num_workers", type=int, help="data-loader workers")
    p.add_argument("--seed", type=int)
    p.add_argument("--val-every", dest="val_every", type=int)
    p.add_argument("--ckpt-every", dest="ckpt_every", type=int)
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--activation-checkpointing", action=argparse.BooleanOptionalAction,
                   default=None)
    p.add_argument("--task-weights", nargs="+", metavar="TASK=W",
                   help=f"override task weights, tasks: {', '.join(dict(TaskConfig().weights))}")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, help="torch CPU threads (0: torch's default)")
    p.add_argument("--fsdp", action=argparse.BooleanOptionalAction, default=None,
                   help="under torchrun: shard weights and optimiser state over the processes")
    p.add_argument("--fresh", action="store_true", help="ignore existing checkpoints in --output")
    p.add_argument("--no-progress", action="store_true")
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
    cfg = build_config(args)
    if main_rank:
        if args.fresh and (out / "checkpoints").exists():
            shutil.rmtree(out / "checkpoints")
        out.mkdir(parents=True, exist_ok=True)
        tok_path = ensure_tokenizer(cfg, out, args.tokenizer)
    barrier()  # the tokenizer and a --fresh run folder are ready for every rank
    if not main_rank:
        tok_path = ensure_tokenizer(cfg, out, args.tokenizer)
    tok = M6Tokenizer.load(tok_path)
    cfg = replace(cfg, model=replace(cfg.model, vocab_size=tok.vocab_size))
    try:
        trainer = make_trainer(cfg, out, tok_path, env, device=device,
                               progress=not args.no_progress)
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
    print(f"checkpoints in {out / 'checkpoints'}; metrics in {out / 'metrics.jsonl'}")
    return 0
