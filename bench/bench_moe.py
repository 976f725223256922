"""MoE layer step time against a dense FFN with the same active parameters, and the all-to-all
share of an expert-parallel step over 2 processes (M6 section 3.4; docs/design.md's goal: MoE top-1
within 1.2x of dense at equal active parameters, the issue's aim 1.3x).

Run: ``.venv/bin/python bench/bench_moe.py`` (about a minute on 2 cores).

1. One process (one thread), forward + backward of one layer on N tokens of width D:
   - baseline ``dense F``: Linear(D, F) -> GELU -> Linear(F, D), the active parameters of a
     top-1 token; ``dense 2F`` those of a top-2 token;
   - ``MoE top-1`` / ``top-2``: 8 experts of hidden F, capacity factor 1.25, routing included.
   Timings alternate between the two layers compared and keep each one's fastest step, so
   load from other processes on the machine inflates neither. Printed: ms per step and
   MoE / dense.
2. Two processes (gloo on CPU, one thread each), the MoE top-1 layer with its 8 experts split
   4 + 4, each rank its own N/2 tokens: step time, and the share of it spent inside the
   all_to_all_single calls (counts, dispatch and combine, forward and backward), float32 and
   bfloat16 payloads.
"""

from __future__ import annotations

import socket
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.distributed.expert_parallel import comm_seconds, shard_experts  # noqa: E402
from model.moe_config import MoEConfig  # noqa: E402
from model.nn.moe import MoE  # noqa: E402

N, D, F, E = 2048, 512, 2048, 8
REPEATS = 11


class Dense(nn.Module):
    def __init__(self, d: int, f: int) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, f), nn.Linear(f, d)

    def forward(self, x):
        return self.fc2(nn.functional.gelu(self.fc1(x)))


def _step(layer: nn.Module, x: torch.Tensor, probe: torch.Tensor) -> float:
    t0 = time.perf_counter()
    out = layer(x)
    loss = (out[0] * probe).sum() + out[1] if isinstance(out, tuple) else (out * probe).sum()
    loss.backward()
    dt = time.perf_counter() - t0
    layer.zero_grad(set_to_none=True)  # as a training step does: fresh gradients each step
    x.grad = None
    return dt


def _compare(a: nn.Module, b: nn.Module, x: torch.Tensor) -> tuple[float, float]:
    probe = torch.randn_like(x)
    for _ in range(2):  # warm-up
        _step(a, x, probe)
        _step(b, x, probe)
    ta, tb = [], []
    for _ in range(REPEATS):
        ta.append(_step(a, x, probe))
        tb.append(_step(b, x, probe))
    return min(ta), min(tb)


def single_process() -> None:
    # one thread: on a shared 2-core machine a second thread is the first to be preempted,
    # and a stalled thread stalls the whole matmul; the ratio is what this bench is after
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randn(N, D, requires_grad=True)  # a layer inside a network: its input needs a grad
    print(f"one process, {torch.get_num_threads()} threads: N={N} tokens, D={D}, F={F}, "
          f"{E} experts, capacity factor 1.25, forward + backward")
    for k, f_dense in ((1, F), (2, 2 * F)):
        moe = MoE(MoEConfig(num_experts=E, top_k=k, capacity_factor=1.25), D, F).train()
        dense = Dense(D, f_dense)
        td, tm = _compare(dense, moe, x)
        print(f"  top-{k}: dense {D}->{f_dense}->{D} {td * 1e3:7.1f} ms | MoE {tm * 1e3:7.1f} ms"
              f" | MoE / dense = {tm / td:.2f}x")


def _rank(rank: int, port: int, comm: str, queue) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=2, timeout=timedelta(seconds=120))
    torch.set_num_threads(1)
    torch.manual_seed(0)
    moe = shard_experts(MoE(MoEConfig(num_experts=E, top_k=1, capacity_factor=1.25,
                                      comm_dtype=comm), D, F).train())
    x = torch.randn(N // 2, D, generator=torch.Generator().manual_seed(rank)).requires_grad_()
    probe = torch.randn_like(x)
    for _ in range(2):
        _step(moe, x, probe)
    dist.barrier()
    start_comm = comm_seconds(moe)
    times = [_step(moe, x, probe) for _ in range(REPEATS)]
    share = (comm_seconds(moe) - start_comm) / sum(times)
    queue.put((rank, statistics.median(times), share))
    dist.destroy_process_group()


def two_processes() -> None:
    print(f"two processes (gloo, 1 thread each): MoE top-1, {E} experts split {E // 2}+{E // 2}, "
          f"{N // 2} tokens per rank")
    ctx = mp.get_context("spawn")
    for comm in ("float32", "bfloat16"):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        queue = ctx.Queue()
        procs = [ctx.Process(target=_rank, args=(r, port, comm, queue)) for r in range(2)]
        for p in procs:
            p.start()
        results = sorted(queue.get(timeout=300) for _ in procs)
        for p in procs:
            p.join()
        step = max(r[1] for r in results)
        share = statistics.mean(r[2] for r in results)
        print(f"  all-to-all in {comm:8s}: step {step * 1e3:7.1f} ms, all-to-all share of the "
              f"step {100 * share:5.1f}%")


if __name__ == "__main__":
    t0 = time.perf_counter()
    single_process()
    two_processes()
    print(f"bench_moe done in {time.perf_counter() - t0:.0f}s")
