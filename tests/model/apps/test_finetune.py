"""Tests of model/apps/finetune.py: the pretrained weights go in, the length rule drops rows,
the trainer's exact resume holds for an application, app checkpoints load by name."""

from __future__ import annotations

import json

import pytest
import torch

from model.apps.caption import CaptionApp
from model.apps.finetune import AppBatches, app_class, load_app
from model.apps.finetune_cli import build_parser, build_trainer, finetune_config
from model.apps.rows import open_rows
from model.data.tokenizer import M6Tokenizer
from model.infer.pretrained import load_pretrained
from model.presets import get_preset

from ..conftest import FIXTURES


def _args(pretrained_ckpt, corpus_dir, out, *extra):
    return build_parser().parse_args(
        ["caption", "--checkpoint", str(pretrained_ckpt), "--data", str(corpus_dir), "--output",
         str(out), "--steps", "4", "--batch-size", "4", "--val-every", "0", "--ckpt-every", "2",
         "--no-progress", *extra])


def test_trainer_starts_from_the_pretrained_weights(pretrained_ckpt, corpus_dir, tmp_path):
    trainer = build_trainer(_args(pretrained_ckpt, corpus_dir, tmp_path / "a"))
    pre = load_pretrained(pretrained_ckpt).model.state_dict()
    mine = trainer.model.state_dict()
    assert mine.keys() == pre.keys() and all(torch.equal(mine[k], pre[k]) for k in pre)
    assert trainer.cfg.train.lr == pytest.approx(load_pretrained(pretrained_ckpt).config.train.lr / 2)


def test_resume_repeats_the_uninterrupted_losses(pretrained_ckpt, corpus_dir, tmp_path):
    whole = build_trainer(_args(pretrained_ckpt, corpus_dir, tmp_path / "whole")).train()
    first = build_trainer(_args(pretrained_ckpt, corpus_dir, tmp_path / "split")).train(stop_at=2)
    again = build_trainer(_args(pretrained_ckpt, corpus_dir, tmp_path / "split"))
    assert again.maybe_resume() and again.step == 2
    assert first + again.train() == whole
    assert len(whole) == 4 and len(set(whole)) == 4


def test_batches_apply_the_length_rule(tokenizer_path, tmp_path):
    images = FIXTURES / "images"
    rows = [("很好", "hopper.jpg"), ("这本书的内容非常精彩值得一读", "flower.jpg"),
            ("好" * 101, "hopper.jpg"),
            ("A giant panda resting in a bamboo thicket with green leaves", "flower2.jpg"),
            ("这本书的内容非常精彩值得一读", "truncated_jpeg.jpg")]
    data = tmp_path / "captions.jsonl"
    data.write_text("".join(json.dumps({"text": t, "image": str(images / f)}) + "\n"
                            for t, f in rows), encoding="utf-8")
    tok = M6Tokenizer.load(tokenizer_path)
    batches = AppBatches(CaptionApp(max_text_tokens=64), open_rows([data]), tok, image_size=32,
                         batch_size=8, split="all", val_fraction=0.1, seed=0, loop=False)
    (batch,) = list(batches)
    assert batch.target_ids_BT.shape[0] == 2  # rows 2 and 4: 14 characters, 11 words
    assert batch.labels_BT[0, :14].tolist() == tok.encode(rows[1][0])
    assert batches.dropped == 3  # too short, too long, an image that does not decode
    assert batch.state.position.dropped == 3


def test_apps_by_name_and_plain_checkpoints(pretrained_ckpt):
    assert app_class("vqa")().name == "vqa"
    with pytest.raises(ValueError, match="unknown application"):
        app_class("translate")
    assert load_app(pretrained_ckpt, expect="caption").app.name == "caption"  # zero-shot
    with pytest.raises(ValueError, match="m6 finetune imagine"):
        load_app(pretrained_ckpt, expect="imagine")


def test_finetune_config_from_pretrained_then_file_then_flags_then_set(tmp_path):
    pcfg = get_preset("tiny")
    app = CaptionApp(max_text_tokens=pcfg.tasks.max_text_tokens)
    base = ["caption", "--checkpoint", "ckpt", "--data", "rows.jsonl", "--output", "out"]
    cfg = finetune_config(build_parser().parse_args(base), pcfg, app)
    # derived from the pretraining run: 300 steps, half its learning rate, warm-up a tenth
    assert (cfg.train.steps, cfg.train.lr, cfg.train.warmup_steps, cfg.train.val_every,
            cfg.train.ckpt_every) == (300, pcfg.train.lr / 2, 30, 60, 300)
    assert cfg.name == "tiny-caption" and cfg.data.paths == ("rows.jsonl",)
    assert cfg.data.num_workers == 0 and cfg.model == app.model_config(pcfg.model)
    part = tmp_path / "part.json"
    part.write_text(json.dumps({"train": {"lr": 0.5, "warmup_steps": 7, "weight_decay": 0.0}}))
    args = build_parser().parse_args([*base, "--steps", "50", "--config", str(part),
                                      "--warmup", "3", "--set", "train.seed=9"])
    cfg = finetune_config(args, pcfg, app)
    assert cfg.train.lr == 0.5 and cfg.train.weight_decay == 0.0  # the file
    assert cfg.train.warmup_steps == 3 and cfg.train.steps == 50  # the flags beat the file
    assert cfg.train.val_every == 10 and cfg.train.seed == 9  # derived from --steps; --set
