"""Captioning: the paper's 10-100 word rule, fine-tuning end to end through ``m6 finetune
caption``, ``m6 caption`` on the result and ``m6 eval caption``'s figures."""

from __future__ import annotations

import json

import numpy as np

from model.apps.caption import CaptionApp, description_length, keep_description
from model.apps.caption_cli import main as caption_main
from model.apps.caption_metrics import caption_scores
from model.apps.eval_cli import main as eval_main
from model.apps.finetune import trainer_meta
from model.apps.finetune_cli import main as finetune_main
from model.data.tokenizer import M6Tokenizer
from model.train.checkpoint import resolve_checkpoint
from model.train.metrics import read_metrics

from ..conftest import FIXTURES


def test_description_length_counts_characters_and_words():
    assert description_length("白色陶瓷马克杯 350毫升") == 10  # 9 characters + "350"
    assert description_length("A giant panda resting in a bamboo thicket") == 8
    assert description_length("，。！ ") == 0


def test_the_paper_rule_keeps_10_to_100_words():
    assert not keep_description("一杯刚泡好的绿茶")  # 8
    assert keep_description("一杯刚泡好的绿茶真香")  # 10
    assert keep_description("好" * 100)
    assert not keep_description("好" * 101)
    assert not keep_description(" ".join(["word"] * 101))
    assert keep_description("好" * 5, min_length=5)


def test_prepare_drops_rule_breakers_and_bad_images(tokenizer_path):
    tok = M6Tokenizer.load(tokenizer_path)
    app = CaptionApp(max_text_tokens=8)
    good = (FIXTURES / "images" / "hopper.jpg").read_bytes()
    bad = (FIXTURES / "images" / "truncated_jpeg.jpg").read_bytes()
    ids, image = app.prepare({"id": "a", "text": "这本书的内容非常精彩值得一读", "image": good}, tok, 32)
    assert len(ids) == 8 and image.shape == (3, 32, 32)  # cut to max_text_tokens
    assert app.prepare({"id": "b", "text": "很好的书", "image": good}, tok, 32) is None
    assert app.prepare({"id": "c", "text": "这本书的内容非常精彩值得一读", "image": bad}, tok, 32) is None
    batch = app.collate([(ids, image)], tok, 32, np.random.default_rng(0))
    assert batch.labels_BT[0].tolist() == ids + [tok.eos_id]  # the whole description is learnt
    assert batch.has_image_B.tolist() == [True]


def test_finetune_caption_then_caption_and_eval(pretrained_ckpt, corpus_dir, tmp_path, capsys):
    out = tmp_path / "caption"
    args = ["caption", "--checkpoint", str(pretrained_ckpt), "--data", str(corpus_dir),
            "--output", str(out), "--steps", "3", "--batch-size", "4", "--val-fraction", "0.3",
            "--no-progress"]
    assert finetune_main(args) == 0
    assert [r["step"] for r in read_metrics(out / "metrics.jsonl", "train")] == [1, 2, 3]
    meta = trainer_meta(resolve_checkpoint(out))
    assert meta["app"]["name"] == "caption" and meta["app"]["min_length"] == 10
    assert meta["val_fraction"] == 0.3
    capsys.readouterr()

    # m6 caption takes the fine-tuned checkpoint as it is
    assert caption_main(["--checkpoint", str(out), "--max-new-tokens", "4",
                         str(FIXTURES / "images" / "flower.jpg")]) == 0
    assert capsys.readouterr().out.startswith(str(FIXTURES / "images" / "flower.jpg") + "\t")

    report = tmp_path / "eval.json"
    assert eval_main(["caption", "--checkpoint", str(out), "--data", str(corpus_dir),
                      "--limit", "4", "--out", str(report)]) == 0
    printed = capsys.readouterr().out
    result = json.loads(report.read_text())
    assert f"bleu4: {result['bleu4']:.4f}" in printed and "cider_d:" in printed
    assert result["images"] == len(result["examples"]) <= 4 and result["images"] > 0
    # the figures are the metrics of the captions it reports
    again = caption_scores([e["caption"] for e in result["examples"]],
                           [e["references"] for e in result["examples"]])
    assert again["bleu4"] == result["bleu4"] and again["cider_d"] == result["cider_d"]
    assert result["rows"] >= result["images"] + result["dropped_by_length_rule"]
