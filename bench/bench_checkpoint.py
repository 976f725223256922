"""Checkpoint cost of the tiny preset: the sharded DCP checkpoint against the format-1 files, and
what each rank writes under FSDP on 2 processes (gloo, CPU).

Baseline (format 1, what m6 wrote before ``torch.distributed.checkpoint``): ``model.safetensors``
by ``safetensors.torch.save_model`` plus ``optimizer.pt`` (AdamW state, schedule, RNG) by
``torch.save``, one process. Against it, in the same process and on the same model and AdamW
state (after one step): ``save_checkpoint`` (DCP ``state/`` plus the ``model.safetensors``
export, trainer.json, publish) and the DCP state alone, then loading each back. Printed as
ratios to the baseline (median of REPEATS).

Then 2 processes with FSDP save one checkpoint: printed are the bytes each rank wrote into
``state/`` as a share of the whole state. Format 1 gathered the full weights on rank 0 at every
checkpoint; here each rank writes about half and nothing is gathered (the ``model.safetensors``
export is asked for only at a run's last step).

    .venv/bin/python bench/bench_checkpoint.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_model, save_model

from model.distributed.parallel import parallelize, plan_for
from model.nn.transformer import M6Model
from model.presets import tiny
from model.train.checkpoint import restore_checkpoint, rng_state, save_checkpoint, set_rng_state
from model.train.dcp_state import load_state, save_state
from model.train.optim import build_optimizer

REPEATS = 5


def _stepped(cfg, fsdp_world: int = 1):
    torch.manual_seed(0)
    model = M6Model(cfg.model)
    if fsdp_world > 1:
        parallelize(model, plan_for(cfg, fsdp_world))
    opt, sched = build_optimizer(model, cfg.train)
    for p in model.parameters():
        p.grad = torch.full_like(p, 1e-3)
    opt.step()
    sched.step()
    return model, opt, sched


def _median(fn) -> float:
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def one_process(tmp: Path) -> None:
    cfg = tiny()
    model, opt, sched = _stepped(cfg)
    data = {"num_workers": 1, "batches": 1, "readers": {}}

    def old_save():
        save_model(model, str(tmp / "model.safetensors"))
        torch.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                    "rng": rng_state()}, tmp / "optimizer.pt")

    def old_load():
        load_model(model, str(tmp / "model.safetensors"))
        blobs = torch.load(tmp / "optimizer.pt", weights_only=True)
        opt.load_state_dict(blobs["optimizer"])
        sched.load_state_dict(blobs["scheduler"])
        set_rng_state(blobs["rng"])

    def new_save():
        save_checkpoint(tmp / "ckpts", 1, model=model, optimizer=opt, scheduler=sched,
                        trainer_state={"step": 1}, data_state=data)

    def new_load():
        restore_checkpoint(tmp / "ckpts" / "step_00000001", model=model, optimizer=opt,
                           scheduler=sched)

    def dcp_save():
        save_state(str(tmp / "state"), model=model, optimizer=opt, scheduler=sched,
                   rng=rng_state(), rank=0, expert_parallel=False)

    def dcp_load():
        load_state(str(tmp / "state"), model=model, optimizer=opt, scheduler=sched, rank=0,
                   expert_parallel=False)

    base_save, base_load = _median(old_save), _median(old_load)
    size = sum(f.stat().st_size for f in (tmp / "model.safetensors", tmp / "optimizer.pt"))
    print(f"baseline (format 1: safetensors + torch.save), tiny preset, one process: save "
          f"{base_save * 1e3:.0f} ms, load {base_load * 1e3:.0f} ms, {size / 2**20:.1f} MiB")
    for name, save, load in (("save_checkpoint (DCP state + safetensors export)", new_save,
                              new_load), ("DCP state alone", dcp_save, dcp_load)):
        s, lo = _median(save), _median(load)
        print(f"{name}: save {s / base_save:.2f}x, load {lo / base_load:.2f}x the baseline")


def _fsdp_rank(rank: int, init_file: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2,
                            timeout=timedelta(seconds=120))
    torch.set_num_threads(1)
    cfg = tiny()
    from dataclasses import replace

    cfg = replace(cfg, train=replace(cfg.train, fsdp=True))
    model, opt, sched = _stepped(cfg, fsdp_world=2)
    save_checkpoint(out, 1, model=model, optimizer=opt, scheduler=sched,
                    trainer_state={"step": 1},
                    data_state={"num_workers": 1, "batches": 1, "readers": {}},
                    rank=rank, fsdp=True, export=False)
    dist.destroy_process_group()


def fsdp_two_processes(tmp: Path) -> None:
    out = tmp / "fsdp"
    ctx = mp.start_processes(_fsdp_rank, args=(str(tmp / "init"), str(out)), nprocs=2,
                             join=False, start_method="spawn")
    deadline = time.monotonic() + 150
    while not ctx.join(timeout=1):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.kill()
            raise SystemExit("bench_checkpoint: the 2-process save did not finish in 150 s")
    state = out / "step_00000001" / "state"
    sizes = {p.name: p.stat().st_size for p in state.glob("__*_0.distcp")}
    total = sum(sizes.values())
    shares = ", ".join(f"rank {n.split('_')[2]}: {s / total:.0%}" for n, s in sorted(sizes.items()))
    print(f"FSDP, 2 processes: state/ {total / 2**20:.1f} MiB written as {shares}; no gather "
          "(format 1: the full weights gathered on rank 0 at every checkpoint)")


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        one_process(Path(d))
        fsdp_two_processes(Path(d))


if __name__ == "__main__":
    main()
