"""Tests of model/train/trainer.py, model/train/checkpoint.py and model/train/optim.py: exact resume, atomic
checkpoints, metrics, the schedule, gradient accumulation."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import fsspec
import pytest
import torch

from model.data.tokenizer import M6Tokenizer
from model.infer.pretrained import load_pretrained
from model.train.checkpoint import latest_checkpoint, resolve_checkpoint, rng_state, trainer_meta
from model.train.dcp_state import read_metadata
from model.train.metrics import read_metrics
from model.train.optim import WarmupCosine
from model.train.trainer import Trainer

from .conftest import micro_config


def _cfg(corpus_dir, tokenizer_path, **train):
    vocab = M6Tokenizer.load(tokenizer_path).vocab_size
    return micro_config(corpus_dir, vocab, **train)


def _trainer(cfg, out, tokenizer_path):
    return Trainer(cfg, out, tokenizer_path, progress=False, tensorboard=False)


@pytest.mark.parametrize("workers", [0, pytest.param(2, marks=pytest.mark.slow)])
def test_resume_repeats_the_uninterrupted_losses_exactly(corpus_dir, tokenizer_path, tmp_path, workers):
    cfg = _cfg(corpus_dir, tokenizer_path, steps=8, ckpt_every=4)
    cfg = replace(cfg, data=replace(cfg.data, num_workers=workers))
    whole = _trainer(cfg, tmp_path / "whole", tokenizer_path).train()

    first = _trainer(cfg, tmp_path / "split", tokenizer_path)
    head = first.train(stop_at=4)  # "killed" after the step-4 checkpoint
    second = _trainer(cfg, tmp_path / "split", tokenizer_path)
    assert second.maybe_resume() and second.step == 4
    tail = second.train()
    assert len(whole) == 8
    assert head + tail == whole  # bit-for-bit on CPU
    assert whole[-1] < whole[0]
    steps = [r["step"] for r in read_metrics(tmp_path / "split" / "metrics.jsonl", "train")]
    assert steps == list(range(1, 9))  # one record per step, none repeated by the resume


def test_checkpoint_is_complete_atomic_and_pruned(corpus_dir, tokenizer_path, tmp_path):
    cfg = _cfg(corpus_dir, tokenizer_path, steps=6, ckpt_every=2, keep_checkpoints=2)
    t = _trainer(cfg, tmp_path, tokenizer_path)
    (tmp_path / "checkpoints").mkdir(parents=True)
    (tmp_path / "checkpoints" / "step_00000002.tmp").mkdir()  # debris of a crashed write
    t.train()
    ckpts = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert ckpts == ["latest", "step_00000004", "step_00000006"]
    last = latest_checkpoint(tmp_path / "checkpoints")
    assert last.name == "step_00000006"
    assert {p.name for p in last.iterdir()} == {"model.safetensors", "state", "trainer.json",
                                               "tokenizer.json", "tokenizer_config.json",
                                               "special_tokens_map.json"}
    from transformers import AutoTokenizer  # the checkpoint folder is a tokenizer folder too

    assert AutoTokenizer.from_pretrained(str(last)).mask_token == "[MASK]"
    assert {p.name for p in (last / "state").iterdir()} == {".metadata", "__0_0.distcp"}
    meta = trainer_meta(last)
    assert (meta["format"], meta["step"], meta["world_size"]) == (2, 6, 1)
    assert meta["data"]["batches_total"] == 6 and meta["data"]["readers_total"] == 1
    assert meta["data"]["readers"]["0"]["n"] >= 6 * cfg.data.batch_size
    saved = read_metadata(str(last / "state")).state_dict_metadata  # the restricted unpickler
    assert {"extra/scheduler", "extra/rng/0"} <= set(saved) and "extra/rng/1" not in saved
    assert {k.removeprefix("model.") for k in saved if k.startswith("model.")} == set(
        t.model.state_dict())
    assert any(k.startswith("optim.state.") and k.endswith(".exp_avg_sq") for k in saved)


def test_a_checkpoint_of_another_model_is_refused(corpus_dir, tokenizer_path, tmp_path):
    cfg = _cfg(corpus_dir, tokenizer_path, steps=1, ckpt_every=1)
    _trainer(cfg, tmp_path, tokenizer_path).train()
    other = replace(cfg, model=replace(cfg.model, n_layers=3))
    t = _trainer(other, tmp_path, tokenizer_path)
    with pytest.raises(ValueError, match="missing .*blocks.2"):
        t.maybe_resume()


def test_metrics_have_task_losses_lr_throughput_and_validation(corpus_dir, tokenizer_path, tmp_path):
    cfg = _cfg(corpus_dir, tokenizer_path, steps=4, val_every=2, log_every=2)
    _trainer(cfg, tmp_path, tokenizer_path).train()
    train = read_metrics(tmp_path / "metrics.jsonl", "train")
    val = read_metrics(tmp_path / "metrics.jsonl", "val")
    assert [r["step"] for r in val] == [0, 2, 4]
    assert all(r["loss"] > 0 for r in val)
    assert train[1]["tokens_per_s"] > 0 and "tokens_per_s" not in train[0]
    keys = set().union(*train)
    assert {"loss_text_denoise", "loss_lm", "lr", "grad_norm", "aux_loss", "tokens_per_s_lm"} <= keys
    per_task = sum(train[1][f"tokens_per_s_{t}"] for t in ("text_denoise", "lm", "image_to_text", "mm_to_text"))
    assert per_task == pytest.approx(train[1]["tokens_per_s"])
    assert train[0]["lr"] == pytest.approx(cfg.train.lr / 2)  # warm-up step 1 of 2
    assert json.loads((tmp_path / "config.json").read_text())["model"]["d_model"] == 32


def test_warmup_then_cosine_to_the_floor():
    s = WarmupCosine(10, 110, 0.1)
    assert s(0) == pytest.approx(0.1) and s(9) == pytest.approx(1.0)
    assert s(60) == pytest.approx(0.55)  # half-way down the cosine
    assert s(110) == pytest.approx(0.1) and s(500) == pytest.approx(0.1)


def test_gradient_accumulation_consumes_that_many_batches(corpus_dir, tokenizer_path, tmp_path):
    cfg = _cfg(corpus_dir, tokenizer_path, steps=2, grad_accum=3)
    t = _trainer(cfg, tmp_path, tokenizer_path)
    t.train()
    assert t.data_state.batches == 6
    rec = read_metrics(tmp_path / "metrics.jsonl", "train")[-1]
    assert rec["samples"] == 12  # 3 batches of 4


def test_bf16_and_activation_checkpointing_flags_train(corpus_dir, tokenizer_path, tmp_path):
    cfg = _cfg(corpus_dir, tokenizer_path, steps=3, bf16=True, activation_checkpointing=True)
    t = _trainer(cfg, tmp_path, tokenizer_path)
    assert t.model.activation_checkpointing
    losses = t.train()
    assert all(torch.isfinite(torch.tensor(losses)))
    ref = _trainer(_cfg(corpus_dir, tokenizer_path, steps=3), tmp_path / "ref", tokenizer_path).train()
    assert losses[0] == pytest.approx(ref[0], rel=0.03)  # same first batch, bf16 rounding only


def test_no_validation_rows_skips_validation_with_a_warning(corpus_dir, tokenizer_path, tmp_path, caplog):
    cfg = _cfg(corpus_dir, tokenizer_path, steps=2, val_every=1)
    cfg = replace(cfg, data=replace(cfg.data, val_fraction=0.0))
    _trainer(cfg, tmp_path, tokenizer_path).train()
    assert read_metrics(tmp_path / "metrics.jsonl", "val") == []
    assert "no validation rows" in caplog.text


def test_checkpoints_on_an_fsspec_url_resume_exactly_and_load_for_inference(
        corpus_dir, tokenizer_path, tmp_path):
    url = f"memory://m6-tests/{tmp_path.name}/checkpoints"
    fs = fsspec.filesystem("memory")
    cfg = _cfg(corpus_dir, tokenizer_path, steps=4, ckpt_every=2)
    whole = _trainer(cfg, tmp_path / "whole", tokenizer_path).train()
    try:
        def on_url():
            return Trainer(cfg, tmp_path / "split", tokenizer_path, progress=False,
                           tensorboard=False, checkpoint_dir=url)

        head = on_url().train(stop_at=2)
        second = on_url()
        assert second.maybe_resume() and second.step == 2
        assert head + second.train() == whole  # bit-for-bit, as with a local folder
        assert not (tmp_path / "split" / "checkpoints").exists()
        names = sorted(p.rsplit("/", 1)[-1] for p in fs.ls(f"/m6-tests/{tmp_path.name}/checkpoints",
                                                          detail=False))
        assert names == ["latest", "step_00000002", "step_00000004"]
        ckpt = resolve_checkpoint(url)
        assert ckpt == f"memory:///m6-tests/{tmp_path.name}/checkpoints/step_00000004"
        pre = load_pretrained(url)  # m6 generate's loader: config, tokenizer and weights
        for (k, a), b in zip(second.model.state_dict().items(), pre.model.state_dict().values()):
            assert torch.equal(a, b), k
        assert pre.tokenizer.vocab_size == cfg.model.vocab_size
    finally:
        fs.rm(f"/m6-tests/{tmp_path.name}", recursive=True)


def test_a_checkpoint_of_the_old_format_still_resumes_on_one_process(corpus_dir, tokenizer_path,
                                                                     tmp_path):
    """Format 1: ``optimizer.pt`` (optimiser, schedule, RNG) next to the weights."""
    cfg = _cfg(corpus_dir, tokenizer_path, steps=4, ckpt_every=2)
    whole = _trainer(cfg, tmp_path / "whole", tokenizer_path).train()
    first = _trainer(cfg, tmp_path / "old", tokenizer_path)
    head = first.train(stop_at=2)
    ckpt = tmp_path / "old" / "checkpoints" / "step_00000002"
    # rewrite the checkpoint as the previous version wrote it, from the same trainer state
    first.restore(ckpt)
    shutil.rmtree(ckpt / "state")
    torch.save({"optimizer": first.optimizer.state_dict(), "scheduler": first.scheduler.state_dict(),
                "rng": rng_state()}, ckpt / "optimizer.pt")
    meta = trainer_meta(ckpt)
    meta.pop("format")
    meta["data"] = first.data_state.to_dict()
    (ckpt / "trainer.json").write_text(json.dumps(meta))
    second = _trainer(cfg, tmp_path / "old", tokenizer_path)
    assert second.maybe_resume() and second.step == 2
    assert head + second.train() == whole
