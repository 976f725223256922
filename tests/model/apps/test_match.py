"""Image-text matching (section 4.6): negatives by swapping texts, balanced classes, the binary
head over image and text, and ``m6 finetune match`` / ``m6 match`` / ``m6 eval match``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from model.apps.eval_cli import main as eval_main
from model.apps.finetune_cli import main as finetune_main
from model.apps.match import MatchApp, MatchModel, match_probability, negative_partner, roc_auc
from model.apps.match_cli import main as match_main
from model.config import ImageConfig, ModelConfig
from model.data.tokenizer import M6Tokenizer

from ..conftest import FIXTURES


def test_negative_partner_never_shares_image_or_text():
    keys = ["a", "a", "b", "c"]
    texts = ["x", "y", "x", "z"]
    assert negative_partner(0, keys, texts, [1, 2, 3]) == 3  # 1: same image, 2: same text
    assert negative_partner(3, keys, texts, [0, 1, 2]) == 0
    assert negative_partner(0, ["a", "a"], ["x", "y"], [1]) is None


def test_batches_are_balanced(tokenizer_path):
    tok = M6Tokenizer.load(tokenizer_path)
    app = MatchApp()
    img = torch.zeros(3, 32, 32)
    items = [(img + i, tok.encode(t), f"k{i}", t) for i, t in
             enumerate(["红色的花", "蓝色的天空", "一只猫", "一本好书"])]
    batch = app.collate(items, tok, 32, np.random.default_rng(0))
    assert batch.match_B.tolist() == [1.0, 0.0] * 4
    for i in range(4):  # the negative keeps the image and takes another pair's text
        assert torch.equal(batch.images_B3HW[2 * i + 1], batch.images_B3HW[2 * i])
        assert not torch.equal(batch.masked_ids_BM[2 * i + 1], batch.masked_ids_BM[2 * i])
    assert batch.target_ids_BT.tolist() == [[tok.bos_id]] * 8  # the decoder holds [BOS] only
    assert batch.to("cpu").match_B is not None  # Batch.to keeps the subclass


def test_head_reads_image_and_text(tokenizer_path):
    tok = M6Tokenizer.load(tokenizer_path)
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=tok.vocab_size, d_model=32, n_layers=2, n_heads=2, d_ff=64,
                      max_text_len=32, image=ImageConfig(image_size=32, patch_size=16,
                                                         cnn_channels=(8, 16)))
    model = MatchModel(cfg).eval()
    with torch.no_grad():
        model.head.weight.mul_(50)
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(3, 32, 32, generator=g), torch.randn(3, 32, 32, generator=g)
    p = match_probability(model, tok, a, "红色的花", 32)
    assert 0 < p < 1
    assert p != match_probability(model, tok, a, "蓝色的天空", 32)
    assert p != match_probability(model, tok, b, "红色的花", 32)


def test_roc_auc_by_hand():
    assert roc_auc([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0]) == 1.0
    assert roc_auc([0.1, 0.8, 0.3, 0.9], [1, 1, 0, 0]) == 0.25  # of 4 pairs only 0.8 > 0.3
    assert roc_auc([0.5, 0.5], [1, 0]) == 0.5


def test_finetune_match_then_score_and_eval(pretrained_ckpt, corpus_dir, tmp_path, capsys):
    out = tmp_path / "match"
    assert finetune_main(["match", "--checkpoint", str(pretrained_ckpt), "--data",
                          str(corpus_dir), "--output", str(out), "--steps", "3", "--batch-size",
                          "4", "--val-fraction", "0.4", "--no-progress"]) == 0
    capsys.readouterr()
    image = str(FIXTURES / "images" / "hopper.jpg")
    assert match_main(["--checkpoint", str(out), "--image", image, "--text", "很好的书",
                       "一朵红色的花"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [x.split("\t")[1] for x in lines] == ["很好的书", "一朵红色的花"]
    assert all(0.0 < float(x.split("\t")[0]) < 1.0 for x in lines)
    # a caption checkpoint is not a matching one: a clear error, not a crash
    assert match_main(["--checkpoint", str(pretrained_ckpt), "--image", image, "--text", "书"]) == 2
    assert "m6 finetune match" in capsys.readouterr().err
    report = tmp_path / "m.json"
    assert eval_main(["match", "--checkpoint", str(out), "--data", str(corpus_dir), "--out",
                      str(report)]) == 0
    r = json.loads(report.read_text())
    assert r["positives"] == r["negatives"] > 0 and r["pairs"] == 2 * r["positives"]
    assert 0.0 <= r["accuracy"] <= 1.0 and r["accuracy"] * r["pairs"] == pytest.approx(
        round(r["accuracy"] * r["pairs"]))
