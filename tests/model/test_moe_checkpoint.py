"""Tests of model/train/moe_checkpoint.py in one process, and of the training checkpoint of an MoE
model (model/train/checkpoint.py writes MoE weights in the canonical per-expert form). The 2-rank
round trips are in test_moe_parallel.py."""

from __future__ import annotations

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from model.moe_config import MoEConfig
from model.nn.moe import MoE
from model.presets import tiny_moe
from model.train.checkpoint import load_weights, restore_checkpoint, save_checkpoint
from model.train.moe_checkpoint import (
    ExpertCheckpointError,
    canonical_state_dict,
    load_sharded,
    save_sharded,
)
from model.train.optim import build_optimizer


class TwoLayers(torch.nn.Module):
    def __init__(self, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.first = MoE(MoEConfig(num_experts=3, top_k=2), 8, 16)
        self.norm = torch.nn.LayerNorm(8)
        self.second = MoE(MoEConfig(num_experts=2, top_k=1), 8, 16)


def test_canonical_keys_split_experts_under_global_indices():
    model = TwoLayers(0)
    sd = canonical_state_dict(model)
    assert "first.experts.w1" not in sd
    assert sorted(k for k in sd if k.startswith("second.experts.")) == [
        f"second.experts.{e}.{t}" for e in range(2) for t in ("b1", "b2", "w1", "w2")]
    torch.testing.assert_close(sd["first.experts.2.w2"], model.first.experts.w2[2])


def test_round_trip_and_loud_failures(tmp_path):
    src, dst = TwoLayers(0), TwoLayers(1)
    save_sharded(src, tmp_path / "ok")
    load_sharded(dst, tmp_path / "ok")
    for (name, a), b in zip(src.state_dict().items(), dst.state_dict().values()):
        assert torch.equal(a, b), name
    tensors = load_file(tmp_path / "ok" / "model.safetensors")
    del tensors["first.experts.1.b1"]
    (tmp_path / "missing").mkdir()
    save_file(tensors, tmp_path / "missing" / "model.safetensors")
    with pytest.raises(ExpertCheckpointError, match=r"missing from the checkpoint: first\.experts\.1\.b1"):
        load_sharded(TwoLayers(2), tmp_path / "missing")
    tensors = load_file(tmp_path / "ok" / "model.safetensors")
    tensors["norm.experts.0.w1"] = torch.zeros(1)  # an expert tensor where there is no MoE layer
    (tmp_path / "stray").mkdir()
    save_file(tensors, tmp_path / "stray" / "model.safetensors")
    with pytest.raises(ExpertCheckpointError, match=r"unexpected in the checkpoint: norm\.experts\.0\.w1 \(no MoE layer"):
        load_sharded(TwoLayers(2), tmp_path / "stray")
    # a checkpoint of a model with fewer experts than this one
    small = TwoLayers(0)
    small.second = MoE(MoEConfig(num_experts=1, top_k=1), 8, 16)
    save_sharded(small, tmp_path / "fewer")
    with pytest.raises(ExpertCheckpointError, match=r"second\.experts\.1\.w1"):
        load_sharded(TwoLayers(2), tmp_path / "fewer")


def test_training_checkpoint_of_an_moe_model_is_canonical_and_loads_strictly(tmp_path):
    from model.nn.transformer import M6Model

    cfg = tiny_moe()
    torch.manual_seed(0)
    model = M6Model(cfg.model)
    opt, sched = build_optimizer(model, cfg.train)
    path = save_checkpoint(tmp_path, 3, model=model, optimizer=opt, scheduler=sched,
                           trainer_state={"step": 3})
    with safe_open(str(path / "model.safetensors"), framework="pt") as f:
        keys = set(f.keys())
    assert "blocks.1.ffn.experts.7.w2" in keys and "blocks.1.ffn.experts.w2" not in keys
    torch.manual_seed(1)
    other = M6Model(cfg.model)
    with pytest.raises(ValueError, match="holds no data position .* load_weights instead"):
        restore_checkpoint(path, model=other, optimizer=opt, scheduler=sched)
    load_weights(other, path)
    for (name, a), b in zip(model.state_dict().items(), other.state_dict().values()):
        assert torch.equal(a, b), name
    # the expert biases are not weight-decayed (they are 2-D only because they are stacked)
    decayed = {id(p) for g in opt.param_groups if g["weight_decay"] > 0 for p in g["params"]}
    assert id(model.blocks[1].ffn.experts.b1) not in decayed
    assert id(model.blocks[1].ffn.experts.w1) in decayed
