"""Visual question answering: the paper's prompt pattern, the loss on the answer only,
accuracy by normalised exact match, and ``m6 finetune vqa`` / ``m6 vqa`` / ``m6 eval vqa`` on
real photos."""

from __future__ import annotations

import json

import numpy as np
import pytest

from model.apps.eval_cli import main as eval_main
from model.apps.finetune_cli import main as finetune_main
from model.apps.rows import open_rows
from model.apps.vqa import VQAApp, answer_correct, normalize_answer, vqa_prompt
from model.apps.vqa_cli import main as vqa_main
from model.data.batch import IGNORE_INDEX
from model.data.tokenizer import M6Tokenizer

from ..conftest import FIXTURES


def test_prompt_pattern():
    assert vqa_prompt("这是什么") == "这是什么？回答："
    assert vqa_prompt(" 这是什么? ") == "这是什么？回答："
    assert vqa_prompt("花是什么颜色？") == "花是什么颜色？回答："
    with pytest.raises(ValueError):
        vqa_prompt("？")


def test_answers_are_normalised_before_matching():
    assert normalize_answer(" 红色的。") == "红色"
    assert normalize_answer("ＲＥＤ!") == "red"
    assert answer_correct("红色。", ["红色"]) and answer_correct("粉红色", ["粉色", "粉红色"])
    assert not answer_correct("红", ["红色"]) and not answer_correct("", [""])


def test_loss_falls_on_the_answer_only(vqa_jsonl, tokenizer_path):
    tok = M6Tokenizer.load(tokenizer_path)
    app = VQAApp()
    row = open_rows([vqa_jsonl]).rows("all", val_fraction=0.0)[1]  # 花是什么颜色 -> 粉色
    prompt, ans, image = app.prepare(row, tok, 32)
    assert prompt == tok.encode("花是什么颜色？回答：") and ans == tok.encode("粉色")
    batch = app.collate([(prompt, ans, image)], tok, 32, np.random.default_rng(0))
    assert batch.target_ids_BT[0].tolist() == [tok.bos_id] + prompt + ans
    assert batch.labels_BT[0].tolist() == [IGNORE_INDEX] * len(prompt) + ans + [tok.eos_id]


def test_finetune_vqa_answer_and_eval(pretrained_ckpt, vqa_jsonl, tmp_path, capsys):
    out = tmp_path / "vqa"
    assert finetune_main(["vqa", "--checkpoint", str(pretrained_ckpt), "--data", str(vqa_jsonl),
                          "--output", str(out), "--steps", "3", "--batch-size", "4",
                          "--no-progress"]) == 0
    capsys.readouterr()
    image = FIXTURES / "images" / "flower2.jpg"
    assert vqa_main(["--checkpoint", str(out), "--image", str(image), "--question", "这是什么",
                     "花是什么颜色", "--max-new-tokens", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("这是什么？回答：")
    assert lines[1].startswith("花是什么颜色？回答：")
    # zero-shot from the pretraining checkpoint, as in the paper's Figure 8
    assert vqa_main(["--checkpoint", str(pretrained_ckpt), "--image", str(image),
                     "--question", "这是什么", "--max-new-tokens", "2"]) == 0
    capsys.readouterr()
    report = tmp_path / "vqa.json"
    assert eval_main(["vqa", "--checkpoint", str(out), "--data", str(vqa_jsonl),
                      "--out", str(report)]) == 0
    result = json.loads(report.read_text())
    assert result["questions"] == 4  # the four rows marked val
    ok = [e["correct"] for e in result["examples"]]
    assert result["accuracy"] == sum(ok) / 4
    assert all(answer_correct(e["answer"], e["references"]) == e["correct"]
               for e in result["examples"])
    assert set(result["accuracy_by_type"]) == {"color", "detection"}


def test_prompt_and_answer_fit_the_decoder(vqa_jsonl, tokenizer_path):
    tok = M6Tokenizer.load(tokenizer_path)
    row = dict(open_rows([vqa_jsonl]).rows("all", val_fraction=0.0)[1])
    app = VQAApp(max_text_tokens=12)
    row.pop("answers")
    row["answer"] = "粉色的花瓣和绿色的叶子"
    prompt, ans, _ = app.prepare(row, tok, 32)
    assert len(prompt) == 10 and len(prompt) + len(ans) == 12  # the answer is cut to fit
    row["question"] = "这朵花的花瓣和叶子分别是什么颜色"
    assert app.prepare(row, tok, 32) is None  # no room left for an answer: dropped
