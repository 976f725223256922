"""How a run's data position and RNG carry over to another number of processes.

Data. The shards are read by ``processes x workers`` readers (``model/data/dataset.py``):
reader ``g = rank * workers + w`` reads the ``g``-th disjoint part of every split, and its
position (sample counter, stream positions) says where it stands. A checkpoint stores the
positions by global reader number ``g`` and the total number of batches consumed by all ranks
(``global_data``). A run with R' processes and W' workers per process resumes it when
``R' x W'`` equals the writer's number of readers: rank ``r'`` takes readers
``r' * W' .. r' * W' + W' - 1`` and ``batches_total / R'`` batches as its own count, which fixes
whose turn is next in its data loader (``local_data``). So 2 processes with 1 worker each and one
process with ``--workers 2 --grad-accum 2`` read the same readers, and each step the same global
batch: a run continues from the same sample whatever the process count, as long as the global
batch (processes x grad_accum x batch_size) stays the same. Another number of readers would split
the shards differently, so it is refused with the numbers that fit.

RNG. Each rank's RNG state is saved under its rank. A resume with the same number of processes
restores every rank's state (exact resume, dropout masks included). With another number, rank r
takes rank r's state when the writer had a rank r (so one process continues rank 0's stream),
and a rank the writer did not have is seeded from ``(seed, rank, step)``; the data itself does
not depend on these states (every sample's generator is seeded from ``(seed, reader, sample)``),
only dropout does, and no run on another number of processes draws the same masks anyway.
"""

from __future__ import annotations

from typing import Any


def global_data(by_rank: list[dict[str, Any]]) -> dict[str, Any]:
    """The data position of every reader, from each rank's ``DataState.to_dict()``."""
    workers = int(by_rank[0]["num_workers"])
    readers: dict[str, Any] = {}
    for rank, state in enumerate(by_rank):
        for w, pos in state["readers"].items():
            readers[str(rank * workers + int(w))] = pos
    return {"readers_total": len(by_rank) * workers, "workers_per_process": workers,
            "batches_total": sum(int(s["batches"]) for s in by_rank), "readers": readers}


def local_data(glob: dict[str, Any], rank: int, world: int, workers: int,
               where: str = "the checkpoint") -> dict[str, Any]:
    """Rank ``rank``'s ``DataState`` dict for a run of ``world`` processes with ``workers``
    data-loader workers each; a clear error when the readers do not line up."""
    total = int(glob["readers_total"])
    if world * workers != total:
        hint = ", ".join(f"{p} process(es) x --workers {total // p}"
                         for p in range(1, total + 1) if total % p == 0)
        raise ValueError(
            f"{where} was written by {total} data readers ({glob.get('workers_per_process', '?')} "
            f"worker(s) on each of {total // int(glob.get('workers_per_process') or total)} "
            f"process(es)) and this run has {world} x {workers}: resume with {hint} "
            "(and the same global batch: processes x --grad-accum x --batch-size)")
    batches = int(glob["batches_total"])
    if batches % world:
        raise ValueError(f"{where}: {batches} batches were consumed in all, which {world} "
                         "processes cannot have shared evenly; resume with the writer's number")
    readers = {str(w): glob["readers"][str(rank * workers + w)] for w in range(workers)
               if str(rank * workers + w) in glob["readers"]}
    return {"num_workers": workers, "batches": batches // world, "readers": readers}


def fallback_rng_seed(seed: int, rank: int, step: int) -> int:
    """The seed of a rank the writer did not have (see the module docstring)."""
    return ((seed * 1_000_003 + rank) * 1_000_033 + step) % 2**63
