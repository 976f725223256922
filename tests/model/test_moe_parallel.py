"""Expert parallelism and MoE checkpoints across 2 processes (gloo, CPU), checked against one
process running the same layer with the same weights.

One spawn of 2 ranks runs every scenario (to pay the start-up once): each rank builds the model
from the same seed, shards its experts (model/distributed/expert_parallel.py), runs forward and backward on
its own micro-batch, syncs gradients (model/distributed/expert_grads.py) and saves what it computed. The
test process then recomputes everything in one process and compares. Tolerances: float32
all-to-all 1e-5 absolute/relative (only summation order differs); bfloat16 all-to-all 2e-2
(bf16 has 8 bits of mantissa; two casts each way).

Checkpoints: the ranks save their sharded checkpoint (2 -> 1 is checked here by loading it in
one process) and load one that this process wrote beforehand (1 -> 2).
"""

from __future__ import annotations

import socket
import time
from datetime import timedelta
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from model.distributed.expert_grads import clip_grad_norms, expert_parameters, sync_gradients
from model.distributed.expert_parallel import comm_seconds, shard_experts
from model.moe_config import MoEConfig
from model.nn.moe import MoE
from model.train.moe_checkpoint import ExpertCheckpointError, load_sharded, save_sharded, shard_path

pytestmark = pytest.mark.slow
WORLD = 2
D, FF = 16, 32
TIMEOUT_S = 120

# name -> (MoEConfig kwargs, tokens per rank, experts never chosen)
SCENARIOS = {
    "top1_drops": (dict(num_experts=4, top_k=1, capacity_factor=1.0), (13, 6), ()),
    "top2_dropless": (dict(num_experts=4, top_k=2, capacity_factor=None), (9, 14), ()),
    "top2_bf16_comm": (dict(num_experts=4, top_k=2, capacity_factor=1.5, comm_dtype="bfloat16"),
                       (11, 8), ()),
    # rank 1 holds experts 2 and 3: nobody sends it a token, it sends its tokens away
    "rank1_experts_idle": (dict(num_experts=4, top_k=2, capacity_factor=None), (7, 5), (2, 3)),
    # rank 1 has no tokens of its own at all
    "rank1_no_tokens": (dict(num_experts=4, top_k=1, capacity_factor=1.25), (10, 0), ()),
}


class Wrapped(torch.nn.Module):
    """An MoE layer behind a pre-projection, so replicated parameters before it get gradients."""

    def __init__(self, cfg: MoEConfig) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(D, D)
        self.ffn = MoE(cfg, D, FF)

    def forward(self, x):
        out, aux = self.ffn(self.proj(x))
        return x + out, aux


def build(name: str, seed: int = 0) -> Wrapped:
    cfg_kw, _, idle = SCENARIOS[name]
    torch.manual_seed(seed)
    model = Wrapped(MoEConfig(**cfg_kw))
    with torch.no_grad():
        model.proj.weight[0] = 0.0
        model.proj.bias[0] = 1.0  # feature 0 after proj is exactly 1: lets a gate mute experts
        for e in idle:
            model.ffn.router.gate.weight[e, 0] = -40.0
    return model


def batch(name: str, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    n = SCENARIOS[name][1][rank]
    g = torch.Generator().manual_seed(100 + rank)
    return torch.randn(n, D, generator=g), torch.randn(n, D, generator=g)


def build_m6():
    from dataclasses import replace

    from model.nn.transformer import M6Model
    from model.presets import tiny

    cfg = tiny().model
    cfg = replace(cfg, vocab_size=64, d_model=16, n_layers=2, n_heads=2, d_ff=32, dropout=0.0,
                  image=replace(cfg.image, image_size=32, patch_size=16, cnn_channels=(8,)),
                  moe=MoEConfig(num_experts=4, top_k=2, capacity_factor=1.0))
    torch.manual_seed(0)
    return M6Model(cfg)


def m6_batch(rank: int):
    from model.data.batch import Batch

    g = torch.Generator().manual_seed(50 + rank)
    target = torch.randint(1, 64, (2, 5 + rank), generator=g)
    masked = torch.randint(1, 64, (2, 3), generator=g)
    masked[rank, 1:] = 0
    return Batch(task_B=torch.tensor([3, rank]), masked_ids_BM=masked, target_ids_BT=target,
                 labels_BT=target, images_B3HW=torch.randn(2, 3, 32, 32, generator=g),
                 has_image_B=torch.tensor([True, rank == 1]))


def loss_of(model, x, probe):
    out, aux = model(x)
    return (out * probe).sum() + aux, out


def _worker(rank: int, port: int, out_dir: str) -> None:
    out = Path(out_dir)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=WORLD, timeout=timedelta(seconds=60))
    torch.set_num_threads(1)
    for name in SCENARIOS:
        model = shard_experts(build(name))
        x, probe = batch(name, rank)
        x.requires_grad_()
        loss, y = loss_of(model, x, probe)
        loss.backward()
        sync_gradients(model)
        grads = {n: p.grad.clone() for n, p in model.named_parameters()}
        torch.save({"out": y.detach(), "x_grad": x.grad, "grads": grads,
                    "first": model.ffn.experts.first_expert, "comm_s": comm_seconds(model)},
                   out / f"{name}-{rank}.pt")
    # the whole M6 model, experts sharded, padding and task groups in play
    model = shard_experts(build_m6())
    model.train()
    out_m6 = model(m6_batch(rank))
    (out_m6.logits_BTV.logsumexp(-1).mean() + out_m6.aux_loss).backward()
    sync_gradients(model)
    torch.save({"logits": out_m6.logits_BTV.detach(),
                "grads": {n: p.grad.clone() for n, p in model.named_parameters()},
                "metrics": model.blocks[1].ffn.pop_metrics()}, out / f"m6-{rank}.pt")
    # 2 -> 1: a trained-looking model (experts perturbed per rank) saved sharded
    model = shard_experts(build("top2_dropless"))
    with torch.no_grad():
        for p in expert_parameters(model):
            p.add_(rank + 1.0)
    save_sharded(model, out / "ckpt_2to1", rank, WORLD)
    x, _ = batch("top2_dropless", rank)
    torch.save({"out": model(x)[0].detach(), "params": dict(model.state_dict())},
               out / f"ckpt_2to1-{rank}.pt")
    # 1 -> 2: load the single-process checkpoint written by the test beforehand
    model = shard_experts(build("top2_dropless", seed=7))
    load_sharded(model, out / "ckpt_1to2")
    x, _ = batch("top2_dropless", rank)
    torch.save({"out": model(x)[0].detach(), "params": dict(model.state_dict())},
               out / f"ckpt_1to2-{rank}.pt")
    dist.barrier()
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("ep")
    reference = build("top2_dropless", seed=3)
    save_sharded(reference, out / "ckpt_1to2")  # one process, one file
    ctx = mp.start_processes(_worker, args=(_free_port(), str(out)), nprocs=WORLD, join=False,
                             start_method="spawn")
    deadline = time.monotonic() + TIMEOUT_S
    while not ctx.join(timeout=1):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.kill()
            pytest.fail(f"expert-parallel ranks did not finish in {TIMEOUT_S}s (hang)")
    return out, reference


def _single_process(name: str):
    """Same layer, same weights, one process: the mean over ranks of the per-rank losses."""
    model = build(name)
    outs, xgrads = [], []
    total = 0.0
    for rank in range(WORLD):
        x, probe = batch(name, rank)
        x.requires_grad_()
        loss, y = loss_of(model, x, probe)
        total = total + loss
        outs.append((x, y))
    (total / WORLD).backward()
    for x, _y in outs:
        xgrads.append(x.grad * WORLD)  # each rank's input gradient is of its own loss
    return model, [y.detach() for _, y in outs], xgrads


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_expert_parallel_equals_single_process(ranks, name):
    out_dir, _ = ranks
    tol = dict(rtol=2e-2, atol=2e-2) if "bf16" in name else dict(rtol=1e-5, atol=1e-5)
    model, outs, xgrads = _single_process(name)
    ref_grads = {n: p.grad for n, p in model.named_parameters()}
    for rank in range(WORLD):
        got = torch.load(out_dir / f"{name}-{rank}.pt", weights_only=True)
        torch.testing.assert_close(got["out"], outs[rank], **tol)
        if got["x_grad"].numel():
            torch.testing.assert_close(got["x_grad"], xgrads[rank], **tol)
        first = got["first"]
        assert first == rank * 2
        for n, g in got["grads"].items():
            want = ref_grads[n]
            if ".experts." in n:  # this rank's slice of the experts
                want = want[first:first + 2]
            torch.testing.assert_close(g, want, **tol, msg=f"{name}: grad of {n} on rank {rank}")
            assert torch.isfinite(g).all()
        if name == "rank1_experts_idle" and rank == 1:
            assert all(got["grads"][f"ffn.experts.{t}"].abs().max() == 0 for t in ("w1", "b2"))
        assert got["comm_s"] > 0


def test_checkpoint_from_two_ranks_loads_in_one_process(ranks):
    out_dir, _ = ranks
    single = build("top2_dropless", seed=11)
    load_sharded(single, out_dir / "ckpt_2to1")
    for rank in range(WORLD):
        got = torch.load(out_dir / f"ckpt_2to1-{rank}.pt", weights_only=True)
        for t in ("w1", "b1", "w2", "b2"):
            torch.testing.assert_close(getattr(single.ffn.experts, t)[2 * rank:2 * rank + 2],
                                       got["params"][f"ffn.experts.{t}"], rtol=0, atol=0)
        torch.testing.assert_close(single.proj.weight, got["params"]["proj.weight"], rtol=0, atol=0)
        x, _ = batch("top2_dropless", rank)
        torch.testing.assert_close(single(x)[0], got["out"], rtol=1e-5, atol=1e-5)


def test_checkpoint_from_one_process_loads_on_two_ranks(ranks):
    out_dir, reference = ranks
    for rank in range(WORLD):
        got = torch.load(out_dir / f"ckpt_1to2-{rank}.pt", weights_only=True)
        for t in ("w1", "b1", "w2", "b2"):
            torch.testing.assert_close(got["params"][f"ffn.experts.{t}"],
                                       getattr(reference.ffn.experts, t)[2 * rank:2 * rank + 2],
                                       rtol=0, atol=0)
        x, _ = batch("top2_dropless", rank)
        torch.testing.assert_close(got["out"], reference(x)[0], rtol=1e-5, atol=1e-5)


def test_a_missing_or_unexpected_expert_weight_fails_loudly(ranks, tmp_path):
    out_dir, _ = ranks
    files = [shard_path(out_dir / "ckpt_2to1", r, WORLD) for r in range(WORLD)]
    # missing: drop expert 3's w2 from rank 1's file
    broken = tmp_path / "missing"
    broken.mkdir()
    for r, f in enumerate(files):
        t = load_file(f)
        if r == 1:
            del t["ffn.experts.3.w2"]
        save_file(t, shard_path(broken, r, WORLD), metadata={"world": "2"})
    with pytest.raises(ExpertCheckpointError, match=r"missing from the checkpoint: ffn\.experts\.3\.w2"):
        load_sharded(build("top2_dropless"), broken)
    # unexpected: an expert index the model does not have
    extra = tmp_path / "extra"
    extra.mkdir()
    for r, f in enumerate(files):
        t = load_file(f)
        if r == 1:
            t["ffn.experts.4.w1"] = t["ffn.experts.3.w1"].clone()
        save_file(t, shard_path(extra, r, WORLD), metadata={"world": "2"})
    with pytest.raises(ExpertCheckpointError, match=r"unexpected in the checkpoint: ffn\.experts\.4\.w1"):
        load_sharded(build("top2_dropless"), extra)
    # a whole rank's file gone
    lost = tmp_path / "lost"
    lost.mkdir()
    save_file(load_file(files[0]), shard_path(lost, 0, WORLD), metadata={"world": "2"})
    with pytest.raises(ExpertCheckpointError, match=r"missing the expert files of ranks \[1\] of 2"):
        load_sharded(build("top2_dropless"), lost)


def test_local_clipping_scales_experts_and_dense_separately():
    model = build("top2_dropless")
    x, probe = batch("top2_dropless", 0)
    loss_of(model, x, probe)[0].backward()
    experts = expert_parameters(model)
    e_norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in experts])).item()
    dense = [p for n, p in model.named_parameters() if ".experts." not in n]
    d_norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in dense])).item()
    got_d, got_e = clip_grad_norms(model, max_norm=d_norm / 2, expert_max_norm=e_norm * 2)
    assert got_d == pytest.approx(d_norm, rel=1e-5) and got_e == pytest.approx(e_norm, rel=1e-5)
    new_d = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in dense])).item()
    new_e = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in experts])).item()
    assert new_d == pytest.approx(d_norm / 2, rel=1e-4)  # clipped
    assert new_e == pytest.approx(e_norm, rel=1e-6)  # under its own limit: untouched


def test_whole_m6_model_with_sharded_experts_equals_single_process(ranks):
    out_dir, _ = ranks
    model = build_m6().train()
    total = 0.0
    logits = []
    for rank in range(WORLD):
        out = model(m6_batch(rank))
        logits.append(out.logits_BTV.detach())
        total = total + out.logits_BTV.logsumexp(-1).mean() + out.aux_loss
    (total / WORLD).backward()
    want_metrics = model.blocks[1].ffn.pop_metrics()  # both ranks' batches, one process
    for rank in range(WORLD):
        got = torch.load(out_dir / f"m6-{rank}.pt", weights_only=True)
        torch.testing.assert_close(got["logits"], logits[rank], rtol=1e-5, atol=1e-5)
        for n, g in got["grads"].items():
            want = model.get_parameter(n).grad
            if ".experts." in n:
                want = want[2 * rank:2 * rank + 2]
            torch.testing.assert_close(g, want, rtol=1e-4, atol=1e-6, msg=f"grad of {n}")
        # diagnostics are summed over the ranks: every rank reports the whole step
        assert got["metrics"]["tokens_per_expert"] == want_metrics["tokens_per_expert"]
        assert got["metrics"]["dropped_frac"] == pytest.approx(want_metrics["dropped_frac"])
        assert got["metrics"]["group/mm_to_text/image/tokens"] == 2 * 4
