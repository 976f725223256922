"""Training throughput of the tiny preset on 1 and 2 processes (gloo, CPU), as ratios.

Baseline: one process, one thread, the tiny preset's training step (forward, backward, clipping,
AdamW) on batches shaped like its pretraining batches (``bench_train.synthetic_batches``: 16
samples, the four tasks mixed). Then 2 processes, one thread each, every rank with its own batch
of 16 (the global batch doubles, as with ``make pretrain NPROC=2``), through the same code the
trainer runs (``model/distributed/parallel.py``):

1. data parallelism: gradients averaged by bucketed all-reduce after backward;
2. FSDP: parameters and AdamW state sharded, gathered per block, gradients reduce-scattered.

Printed: target tokens/s of each (summed over ranks), the speed-up over the baseline (2.0 is
perfect scaling; the machine's two cores are the ceiling), and the share of the step spent in
the gradient all-reduce. Communication on one machine goes through loopback TCP.

    .venv/bin/python bench/bench_parallel_train.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import synthetic_batches  # noqa: E402

from model.distributed.parallel import (  # noqa: E402
    clip_grads,
    parallelize,
    plan_for,
    sync_grads,
    with_blank_images,
)
from model.nn.transformer import M6Model  # noqa: E402
from model.presets import tiny  # noqa: E402
from model.train.loss import task_loss  # noqa: E402
from model.train.optim import build_optimizer  # noqa: E402

STEPS, WARMUP = 8, 2


def run(rank: int, world: int, fsdp: bool, init_file: str, result: str) -> None:
    """STEPS timed training steps on this rank; writes (target tokens, seconds, comm seconds)."""
    if world > 1:
        dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                                world_size=world, timeout=timedelta(seconds=120))
    torch.set_num_threads(1)
    cfg = tiny()
    cfg = replace(cfg, train=replace(cfg.train, fsdp=fsdp))
    torch.manual_seed(0)
    model = M6Model(cfg.model).train()
    plan = plan_for(cfg, world)
    parallelize(model, plan)
    opt, sched = build_optimizer(model, cfg.train)
    batches = synthetic_batches(cfg, STEPS + WARMUP, seed=rank)
    targets, comm, t0 = 0, 0.0, 0.0
    for i, b in enumerate(batches):
        if i == WARMUP:
            if world > 1:
                dist.barrier()
            t0, comm, targets = time.perf_counter(), 0.0, 0
        used = b.images_B3HW is not None
        if plan.fsdp:
            b = with_blank_images(b, cfg.model.image.image_size)
        out = model(b)
        loss = task_loss(out.logits_BTV, b.labels_BT, b.task_B).loss + out.aux_loss
        loss.backward()
        tc = time.perf_counter()
        sync_grads(model, plan, used)
        comm += time.perf_counter() - tc
        clip_grads(model, plan, cfg.train.grad_clip)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        targets += b.n_target_tokens
    if world > 1:
        dist.barrier()
    dt = time.perf_counter() - t0
    torch.save({"targets": targets, "seconds": dt, "comm": comm}, result)
    if world > 1:
        dist.destroy_process_group()


def two_processes(fsdp: bool, tmp: Path) -> tuple[float, float]:
    """(target tokens/s summed over both ranks, share of rank 0's time in gradient sync)."""
    tag = "fsdp" if fsdp else "ddp"
    ctx = mp.start_processes(_rank_entry, args=(fsdp, str(tmp / f"{tag}-init"), str(tmp), tag),
                             nprocs=2, join=False, start_method="spawn")
    deadline = time.monotonic() + 150
    while not ctx.join(timeout=1):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.kill()
            raise SystemExit("bench_parallel_train: the 2-process run did not finish in 150 s")
    res = [torch.load(tmp / f"{tag}-{r}.pt", weights_only=True) for r in range(2)]
    seconds = max(r["seconds"] for r in res)
    return sum(r["targets"] for r in res) / seconds, res[0]["comm"] / res[0]["seconds"]


def _rank_entry(rank: int, fsdp: bool, init_file: str, tmp: str, tag: str) -> None:
    run(rank, 2, fsdp, init_file, str(Path(tmp) / f"{tag}-{rank}.pt"))


def one_process(tmp: Path) -> tuple[float, float]:
    """(target tokens/s, seconds per step) of the baseline, in this process."""
    run(0, 1, False, "", str(tmp / "one.pt"))
    one = torch.load(tmp / "one.pt", weights_only=True)
    return one["targets"] / one["seconds"], one["seconds"] / STEPS


def main() -> None:
    load = os.getloadavg()[0]
    cores = len(os.sched_getaffinity(0))
    print(f"{cores} cores, load average {load:.1f} before the run (other processes take cores "
          "from the 2-process runs; the ratio is only meaningful on an idle machine)")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bs = tiny().data.batch_size
        base, step_s = one_process(tmp)
        print(f"baseline: 1 process, 1 thread, tiny preset: {base:,.0f} target tokens/s "
              f"({step_s * 1e3:.0f} ms/step of {bs} samples)")
        for fsdp, name in ((False, "data parallel"), (True, "FSDP")):
            rate, comm = two_processes(fsdp, tmp)
            again, _ = one_process(tmp)  # the baseline next to each run, against load drift
            ref = (base + again) / 2
            base = again
            what = "gradients reduce-scattered in backward" if fsdp else (
                f"all-reduce {comm:.0%} of the step")
            print(f"{name}, 2 processes (gloo, 1 thread each, {bs} samples per rank): "
                  f"{rate:,.0f} target tokens/s = {rate / ref:.2f}x the baseline run around it "
                  f"({ref:,.0f}/s; {what})")


if __name__ == "__main__":
    main()
