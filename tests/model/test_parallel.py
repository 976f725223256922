"""Training on 2 processes (gloo, CPU) against one process: model/distributed/parallel.py,
model/distributed/trainer.py, model/train/checkpoint.py's sharded checkpoints and their resharding,
and `m6 pretrain` under torchrun.

Equivalence: 2 ranks with per-rank batch B read readers 0 and 1 of the shards; one process with
``--workers 2 --grad-accum 2`` reads the same two readers and averages the same two gradients.
With dropout off (masks are drawn per rank) the per-step losses agree to LOSS_RTOL: only the
order of float additions differs (gradient all-reduce / reduce-scatter vs accumulation), and
AdamW carries that rounding from step to step. Measured over 6 steps: data parallel identical to
the bit, expert parallel and FSDP within 3e-8 relative; LOSS_RTOL is 1e-6.

One spawn of 2 ranks runs the in-process scenarios (data parallel, expert parallel MoE, FSDP, an
FSDP run and an MoE run stopped and resumed, the data-parallel run's step-3 checkpoint resumed by
2 new ranks). Resharding (model/train/reshard.py): the step-3 checkpoints of the data-parallel,
FSDP and MoE runs are resumed by one process with 2 readers and gradient accumulation 2, whose
steps 4-6 must equal the 2-rank run's within RESHARD_RTOL (measured: equal to the bit), and a
one-process checkpoint is resumed by 2 ranks.
torchrun runs `m6 pretrain` three times: uninterrupted, killed with SIGKILL after a checkpoint,
and run again, which resumes and must log the uninterrupted run's losses exactly (dropout on:
each rank's RNG state is in the checkpoint).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import psutil
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file

from model.config import RunConfig
from model.data.batch import Batch
from model.data.tokenizer import M6Tokenizer
from model.distributed.parallel import DistEnv, ParallelPlan, plan_for, with_blank_images
from model.distributed.trainer import DistributedTrainer
from model.moe_config import MoEConfig
from model.nn.transformer import M6Model
from model.presets import get_preset
from model.train.checkpoint import load_weights, restore_checkpoint
from model.train.metrics import read_metrics
from model.train.optim import build_optimizer
from model.train.trainer import Trainer

from .conftest import micro_config

WORLD = 2
SPAWN_TIMEOUT_S = 150
TORCHRUN_TIMEOUT_S = 120
LOSS_RTOL = 1e-6
RESHARD_RTOL = 1e-5  # the bound for a run resumed on another number of processes
ROOT = Path(__file__).resolve().parents[2]
TORCHRUN = Path(sys.executable).with_name("torchrun")


def _configs(corpus_dir: Path, tokenizer_path: Path) -> dict[str, RunConfig]:
    vocab = M6Tokenizer.load(tokenizer_path).vocab_size
    dense = micro_config(corpus_dir, vocab, steps=6)
    dense = replace(dense, model=replace(dense.model, dropout=0.0),
                    train=replace(dense.train, ckpt_every=3))
    # local expert clipping (sec. 3.4) differs from one process's global clipping by design:
    # switch clipping off to compare the arithmetic
    moe = replace(dense, model=replace(dense.model, moe=MoEConfig(
        num_experts=4, top_k=1, capacity_factor=1.25, layers="every")),
        train=replace(dense.train, grad_clip=1e9))
    moe = replace(moe, train=replace(moe.train, ckpt_every=3))
    fsdp = replace(dense, train=replace(dense.train, fsdp=True, ckpt_every=3))
    return {"dense": dense, "moe": moe, "fsdp": fsdp}


def _as_one_process(cfg: RunConfig) -> RunConfig:
    """The single-process run with the same global batch: 2 readers, 2 batches a step."""
    return replace(cfg, data=replace(cfg.data, num_workers=WORLD),
                   train=replace(cfg.train, grad_accum=WORLD, fsdp=False))


def test_torchrun_environment_is_read_and_checked():
    assert DistEnv.from_environ({}) == DistEnv(0, 1, 0)
    env = DistEnv.from_environ({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"})
    assert (env.rank, env.world_size, env.local_rank, env.distributed) == (3, 4, 1, True)
    with pytest.raises(ValueError, match="RANK 4 is outside"):
        DistEnv.from_environ({"RANK": "4", "WORLD_SIZE": "4"})


def test_plan_follows_the_model_and_refuses_impossible_layouts(corpus_dir, tokenizer_path):
    cfgs = _configs(corpus_dir, tokenizer_path)
    assert plan_for(cfgs["dense"], 1) == ParallelPlan(1)
    assert plan_for(cfgs["fsdp"], 1) == ParallelPlan(1)  # one process: nothing to shard
    assert plan_for(cfgs["dense"], 2) == ParallelPlan(2)
    assert not plan_for(cfgs["dense"], 2).sharded_optimizer  # replicas: rank 0 saves it
    assert plan_for(cfgs["fsdp"], 2) == ParallelPlan(2, fsdp=True)
    assert plan_for(cfgs["moe"], 4) == ParallelPlan(4, expert_parallel=True)
    with pytest.raises(ValueError, match="4 experts cannot be split over 3 processes"):
        plan_for(cfgs["moe"], 3)
    moe_fsdp = replace(cfgs["moe"], train=replace(cfgs["moe"].train, fsdp=True))
    with pytest.raises(ValueError, match="--fsdp is for dense presets"):
        plan_for(moe_fsdp, 2)
    assert get_preset("m6_10b").train.fsdp and not get_preset("base").train.fsdp


def test_blank_images_are_padding_and_leave_the_output_unchanged(corpus_dir, tokenizer_path):
    cfg = _configs(corpus_dir, tokenizer_path)["dense"]
    torch.manual_seed(0)
    model = M6Model(cfg.model).eval()
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 100, (2, 6), generator=g)
    batch = Batch(task_B=torch.tensor([0, 1]), masked_ids_BM=ids[:, :3], target_ids_BT=ids,
                  labels_BT=ids)
    blank = with_blank_images(batch, cfg.model.image.image_size)
    assert blank.images_B3HW.shape == (2, 3, 32, 32) and not blank.has_image_B.any()
    torch.testing.assert_close(model(blank).logits_BTV, model(batch).logits_BTV, rtol=0, atol=0)
    model.train()
    model(blank).logits_BTV.sum().backward()
    grad = model.patch_encoder.proj.weight.grad
    assert grad is not None and not grad.any()  # present (FSDP needs it) and zero


def _worker(rank: int, init_file: str, cfgs: dict, tok: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=WORLD, timeout=timedelta(seconds=60))
    torch.set_num_threads(1)
    out_dir = Path(out)
    results = {}

    def trainer(cfg, folder):
        return DistributedTrainer(cfg, out_dir / folder, tok, rank=rank, world_size=WORLD,
                                  progress=False, tensorboard=False)

    for name, cfg in cfgs.items():
        t = trainer(cfg, name)
        results[name] = t.train()
        if name == "moe":
            results["moe_local_experts"] = t.model.blocks[0].ffn.experts.num_experts
    # 2 -> 2: the dense run's step-3 checkpoint, resumed by new trainers in another folder
    if rank == 0:
        _only_checkpoint(out_dir / "dense", 3, out_dir / "dense_2to2")
    dist.barrier()
    again = trainer(cfgs["dense"], "dense_2to2")
    assert again.maybe_resume() and again.step == 3
    results["dense_2to2"] = again.train()
    again = trainer(cfgs["dense"], "dense_1to2")
    assert again.maybe_resume() and again.step == 3
    results["dense_1to2"] = again.train()
    # stopped after the step-3 checkpoint, resumed by a new trainer: per-rank optimiser parts
    # (FSDP shards; each rank's experts), RNG and data positions
    for name in ("fsdp", "moe"):
        head = trainer(cfgs[name], f"{name}_split").train(stop_at=3)
        second = trainer(cfgs[name], f"{name}_split")
        assert second.maybe_resume() and second.step == 3
        results[f"{name}_split"] = head + second.train()
    torch.save(results, out_dir / f"rank{rank}.pt")
    dist.barrier()
    dist.destroy_process_group()


def _only_checkpoint(run: Path, step: int, dest: Path) -> Path:
    """A run folder ``dest`` whose only (and latest) checkpoint is ``run``'s of ``step``."""
    name = f"step_{step:08d}"
    shutil.copytree(run / "checkpoints" / name, dest / "checkpoints" / name)
    (dest / "checkpoints" / "latest").write_text(name + "\n")
    return dest


@pytest.fixture(scope="module")
def two_ranks(corpus_dir, tokenizer_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("parallel")
    cfgs = _configs(corpus_dir, tokenizer_path)
    # 1 -> 2: one process with 2 readers and grad accumulation 2 stops after its step-3
    # checkpoint; the 2 ranks resume it (in _worker)
    Trainer(_as_one_process(cfgs["dense"]), out / "dense_1to2", tokenizer_path, progress=False,
            tensorboard=False).train(stop_at=3)
    ctx = mp.start_processes(_worker, args=(str(out / "pg-init"), cfgs, str(tokenizer_path),
                                            str(out)),
                             nprocs=WORLD, join=False, start_method="spawn")
    deadline = time.monotonic() + SPAWN_TIMEOUT_S
    while not ctx.join(timeout=1):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.kill()
            pytest.fail(f"2-rank training did not finish in {SPAWN_TIMEOUT_S}s (hang)")
    return out, cfgs, [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]


@pytest.fixture(scope="module")
def one_process(two_ranks, tokenizer_path, tmp_path_factory):
    """name -> (losses, trainer) of the single-process runs with the same global batch."""
    _, cfgs, _ = two_ranks
    out = tmp_path_factory.mktemp("single")
    refs = {}
    for name in ("dense", "moe"):
        t = Trainer(_as_one_process(cfgs[name]), out / name, tokenizer_path, progress=False,
                    tensorboard=False)
        refs[name] = (t.train(), t)
    # 2 -> 1: the step-3 checkpoints of 2 ranks resumed by one process with 2 readers and
    # gradient accumulation 2 (data parallel, FSDP shards, expert-parallel experts)
    for name, run in (("dense", "dense"), ("fsdp", "fsdp_split"), ("moe", "moe_split")):
        folder = _only_checkpoint(two_ranks[0] / run, 3, out / f"{name}_2to1")
        t = Trainer(_as_one_process(cfgs[name]), folder, tokenizer_path, progress=False,
                    tensorboard=False)
        assert t.maybe_resume() and t.step == 3
        refs[f"{name}_2to1"] = (t.train(), t)
    return refs


def _close(got: list[float], want: list[float], rtol: float = LOSS_RTOL) -> None:
    assert len(got) == len(want)
    assert got == pytest.approx(want, rel=rtol), f"2 ranks {got}\n1 process {want}"


@pytest.mark.slow
def test_data_parallel_losses_match_one_process(two_ranks, one_process):
    out, _, ranks = two_ranks
    want, _ = one_process["dense"]
    _close(ranks[0]["dense"], want)
    assert ranks[1]["dense"] == ranks[0]["dense"]  # every rank logs the global loss
    assert want[-1] < want[0]
    rec = read_metrics(out / "dense" / "metrics.jsonl", "train")[-1]
    assert rec["samples"] == 2 * 4  # both ranks' batches of 4 counted


@pytest.mark.slow
def test_expert_parallel_losses_match_one_process(two_ranks, one_process):
    _, _, ranks = two_ranks
    want, _ = one_process["moe"]
    assert ranks[0]["moe_local_experts"] == 2  # 4 experts, 2 per rank
    _close(ranks[0]["moe"], want)


@pytest.mark.slow
def test_fsdp_losses_match_one_process_and_weights_load_in_one(two_ranks, one_process,
                                                               tokenizer_path):
    out, cfgs, ranks = two_ranks
    want, ref = one_process["dense"]
    _close(ranks[0]["fsdp"], want)
    ckpt = out / "fsdp" / "checkpoints" / "step_00000006"
    full = load_file(ckpt / "model.safetensors")  # whole tensors, gathered from both shards
    ref_sd = ref.model.state_dict()
    assert set(full) == set(ref_sd)
    for k, v in full.items():
        assert v.shape == ref_sd[k].shape
        torch.testing.assert_close(v, ref_sd[k], rtol=1e-4, atol=1e-5, msg=k)
    # each rank wrote its own part of the training state; nothing was gathered for it
    assert sorted(p.name for p in (ckpt / "state").iterdir()) == [
        ".metadata", "__0_0.distcp", "__1_0.distcp"]
    # the training state belongs to 2 ranks: one process refuses it with the reason
    single = Trainer(cfgs["dense"], out / "fsdp", tokenizer_path, progress=False,
                     tensorboard=False)
    with pytest.raises(ValueError, match=r"written by 2 data readers .* this run has 1 x 1: "
                                         r"resume with 1 process\(es\) x --workers 2, "
                                         r"2 process\(es\) x --workers 1"):
        single.maybe_resume()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fsdp", "moe"])
def test_run_stopped_and_resumed_repeats_the_uninterrupted_losses(two_ranks, name):
    out, _, ranks = two_ranks
    assert ranks[0][f"{name}_split"] == ranks[0][name]
    assert ranks[1][f"{name}_split"] == ranks[1][name]
    if name == "moe":  # each rank wrote its experts; the set loads in one process
        files = sorted(p.name for p in (out / "moe_split" / "checkpoints" / "step_00000006").iterdir())
        assert "model-experts-00001-of-00002.safetensors" in files


@pytest.mark.slow
@pytest.mark.parametrize("name", ["dense", "fsdp", "moe"])
def test_checkpoint_of_two_ranks_resumes_on_one_process_with_grad_accum(two_ranks, one_process,
                                                                       name):
    _, _, ranks = two_ranks
    got, _ = one_process[f"{name}_2to1"]
    whole = ranks[0][f"{name}_split" if name != "dense" else "dense"]
    _close(got, whole[3:], rtol=RESHARD_RTOL)  # steps 4..6 of the uninterrupted 2-rank run
    _close(got, one_process[name if name != "fsdp" else "dense"][0][3:], rtol=RESHARD_RTOL)


@pytest.mark.slow
def test_checkpoint_of_one_process_resumes_on_two_ranks(two_ranks):
    _, _, ranks = two_ranks
    for rank in range(WORLD):
        _close(ranks[rank]["dense_1to2"], ranks[rank]["dense"][3:], rtol=RESHARD_RTOL)


@pytest.mark.slow
def test_checkpoint_of_two_ranks_resumes_on_two_exactly(two_ranks):
    out, _, ranks = two_ranks
    for rank in range(WORLD):
        assert ranks[rank]["dense_2to2"] == ranks[rank]["dense"][3:]
    got = read_metrics(out / "dense_2to2" / "metrics.jsonl", "train")
    assert [r["step"] for r in got] == [4, 5, 6]


@pytest.mark.slow
def test_intermediate_fsdp_checkpoint_has_no_gathered_weights_and_still_loads(
        two_ranks, one_process, tokenizer_path):
    out, cfgs, _ = two_ranks
    step3 = out / "fsdp_split" / "checkpoints" / "step_00000003"
    assert not (step3 / "model.safetensors").exists()  # exported only at the last step
    model = M6Model(_as_one_process(cfgs["fsdp"]).model)
    load_weights(model, step3)  # one process reads the weights from the sharded state
    resumed = M6Model(_as_one_process(cfgs["fsdp"]).model)
    opt, sched = build_optimizer(resumed, cfgs["fsdp"].train)
    meta = restore_checkpoint(step3, model=resumed, optimizer=opt, scheduler=sched, workers=2)
    assert meta["data"]["batches"] == 6 and sorted(meta["data"]["readers"]) == ["0", "1"]
    assert sched.last_epoch == 3
    for (k, a), b in zip(model.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k


# ---------------------------------------------------------------------- torchrun, killed


def _pretrain_cmd(corpus_dir, tokenizer_path, out: Path) -> list[str]:
    return [str(TORCHRUN), "--standalone", f"--nproc_per_node={WORLD}", "-m", "m6.cli",
            "pretrain", "--preset", "tiny", "--data", str(corpus_dir), "--tokenizer",
            str(tokenizer_path), "--output", str(out), "--steps", "24", "--batch-size", "4",
            "--warmup", "4", "--ckpt-every", "4", "--val-every", "8", "--threads", "1",
            "--no-progress"]


def _start(cmd: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def _finish(proc: subprocess.Popen, log: Path) -> str:
    try:
        proc.wait(timeout=TORCHRUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _kill_job(proc)
        pytest.fail(f"torchrun did not finish in {TORCHRUN_TIMEOUT_S}s:\n{log.read_text()[-3000:]}")
    text = log.read_text()
    assert proc.returncode == 0, text[-3000:]
    return text


def _kill_job(proc: subprocess.Popen) -> None:
    """SIGKILL torchrun and its workers (they run in sessions of their own), as a crash would."""
    try:
        workers = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        workers = []
    for p in [psutil.Process(proc.pid), *workers] if proc.poll() is None else workers:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    proc.wait()
    psutil.wait_procs(workers, timeout=30)


def _latest_step(run: Path) -> int:
    marker = run / "checkpoints" / "latest"
    return int(marker.read_text().strip().removeprefix("step_")) if marker.is_file() else 0


@pytest.mark.slow
def test_torchrun_run_killed_midway_resumes_to_the_uninterrupted_losses(
        corpus_dir, tokenizer_path, tmp_path):
    whole, split = tmp_path / "whole", tmp_path / "split"
    text = _finish(_start(_pretrain_cmd(corpus_dir, tokenizer_path, whole), tmp_path / "w.log"),
                   tmp_path / "w.log")
    assert "rank 1 of 2 on cpu (gloo)" in text
    # the same run, SIGKILLed (torchrun and both ranks) once a checkpoint of step 8+ is there
    proc = _start(_pretrain_cmd(corpus_dir, tokenizer_path, split), tmp_path / "k.log")
    deadline = time.monotonic() + TORCHRUN_TIMEOUT_S
    while _latest_step(split) < 8 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    _kill_job(proc)
    killed_at = _latest_step(split)
    assert 8 <= killed_at < 24, (killed_at, (tmp_path / "k.log").read_text()[-2000:])
    assert proc.returncode == -signal.SIGKILL
    # run again: resumes from the last checkpoint on both ranks
    text = _finish(_start(_pretrain_cmd(corpus_dir, tokenizer_path, split), tmp_path / "r.log"),
                   tmp_path / "r.log")
    assert f"resuming at step {killed_at}" in text
    want = read_metrics(whole / "metrics.jsonl", "train")
    got = read_metrics(split / "metrics.jsonl", "train")
    assert [r["step"] for r in got] == list(range(1, 25))
    assert [r["loss"] for r in got] == [r["loss"] for r in want]  # bit for bit
    assert [r["loss"] for r in read_metrics(split / "metrics.jsonl", "val")] == [
        r["loss"] for r in read_metrics(whole / "metrics.jsonl", "val")]
    ckpt = split / "checkpoints" / "step_00000024"
    assert sorted(p.name for p in ckpt.iterdir()) == [
        "model.safetensors", "special_tokens_map.json", "state", "tokenizer.json",
        "tokenizer_config.json", "trainer.json"]
