"""Tests of model/train/reshard.py (data positions and RNG across process counts) and of the safe
reading of DCP checkpoints in model/train/dcp_state.py, in one process on memory://."""

from __future__ import annotations

import os
import pickle

import fsspec
import pytest
import torch

from model.train.dcp_state import load_model_weights, read_metadata
from model.train.reshard import fallback_rng_seed, global_data, local_data


def _rank(batches: int, *readers: int) -> dict:
    """A rank's DataState dict whose readers stand at sample ``n``."""
    return {"num_workers": len(readers), "batches": batches,
            "readers": {str(w): {"n": n, "skipped": 0, "streams": {}} for w, n in enumerate(readers)}}


def test_positions_are_kept_by_global_reader_and_dealt_to_the_new_ranks():
    g = global_data([_rank(5, 20), _rank(5, 24)])  # 2 processes x 1 worker, 5 steps
    assert (g["readers_total"], g["workers_per_process"], g["batches_total"]) == (2, 1, 10)
    assert {k: v["n"] for k, v in g["readers"].items()} == {"0": 20, "1": 24}
    one = local_data(g, rank=0, world=1, workers=2)  # one process, --workers 2 --grad-accum 2
    assert (one["num_workers"], one["batches"]) == (2, 10)
    assert {k: v["n"] for k, v in one["readers"].items()} == {"0": 20, "1": 24}
    back = [local_data(global_data([one]), rank=r, world=2, workers=1) for r in range(2)]
    assert [(b["batches"], b["readers"]["0"]["n"]) for b in back] == [(5, 20), (5, 24)]
    # 4 readers of 2 x 2 on 4 processes: rank 3 gets reader 3
    g4 = global_data([_rank(6, 1, 2), _rank(6, 3, 4)])
    assert local_data(g4, rank=3, world=4, workers=1)["readers"] == {"0": g4["readers"]["3"]}
    assert local_data(g4, rank=3, world=4, workers=1)["batches"] == 3


def test_a_run_with_other_readers_is_refused_with_the_combinations_that_fit():
    g = global_data([_rank(5, 20), _rank(5, 24)])
    with pytest.raises(ValueError, match=r"written by 2 data readers \(1 worker\(s\) on each of 2 "
                                         r"process\(es\)\) and this run has 1 x 1: resume with "
                                         r"1 process\(es\) x --workers 2, 2 process\(es\) x "
                                         r"--workers 1"):
        local_data(g, rank=0, world=1, workers=1)
    with pytest.raises(ValueError, match="7 batches were consumed in all"):
        local_data({**g, "batches_total": 7}, rank=0, world=2, workers=1)


def test_ranks_the_writer_did_not_have_get_distinct_deterministic_seeds():
    seeds = [fallback_rng_seed(0, r, 3) for r in range(4)]
    assert len(set(seeds)) == 4 and seeds == [fallback_rng_seed(0, r, 3) for r in range(4)]
    assert fallback_rng_seed(0, 1, 3) != fallback_rng_seed(0, 1, 4) != fallback_rng_seed(1, 1, 4)


class _Code:
    def __reduce__(self):
        return (os.getcwd, ())


def test_checkpoint_metadata_that_refers_to_code_is_refused(tmp_path):
    fs = fsspec.filesystem("memory")
    root = f"/m6-dcp-tests/{tmp_path.name}"
    try:
        fs.pipe(f"{root}/.metadata", pickle.dumps(_Code()))
        with pytest.raises(pickle.UnpicklingError, match=r"refers to (posix|nt)\.getcwd"):
            read_metadata(f"memory://{root}")
        # a function that DCP's module imports (not one of its classes) is refused too
        fs.pipe(f"{root}/.metadata", b"ctorch.distributed.checkpoint.filesystem\ncast\n(I1\nI2\ntR.")
        with pytest.raises(pickle.UnpicklingError,
                           match=r"refers to torch\.distributed\.checkpoint\.filesystem\.cast"):
            read_metadata(f"memory://{root}")
        fs.pipe(f"{root}/.metadata", pickle.dumps({"a": 1}))
        with pytest.raises(pickle.UnpicklingError, match="is not DCP metadata"):
            read_metadata(f"memory://{root}")
    finally:
        fs.rm(root, recursive=True)


def test_weights_of_a_dcp_state_load_into_one_process_and_refuse_another_shape(tmp_path):
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint._fsspec_filesystem import FsspecWriter

    url = f"memory://m6-dcp-tests/{tmp_path.name}/state"
    torch.manual_seed(0)
    src = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    try:
        with pytest.warns(UserWarning, match="single process"):
            dcp.save({"model": src.state_dict()}, storage_writer=FsspecWriter(url))
        dst = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
        load_model_weights(url, dst)
        for (k, a), b in zip(src.state_dict().items(), dst.state_dict().values()):
            assert torch.equal(a, b), k
        wide = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Linear(5, 2))
        with pytest.raises(ValueError, match=r"other shapes \['0.bias \(4,\) vs \(5,\)'"):
            load_model_weights(url, wide)
    finally:
        fsspec.filesystem("memory").rm(f"/m6-dcp-tests/{tmp_path.name}", recursive=True)
