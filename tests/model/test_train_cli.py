"""End to end through the commands: m6 pretrain (tiny preset, a few steps, its own tokenizer),
resume by running it again, then m6 generate and m6 caption on the checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model.apps.caption_cli import main as caption_main
from model.cli.generate import main as generate_main
from model.cli.pretrain import main as pretrain_main
from model.train.metrics import read_metrics

IMAGES = Path(__file__).resolve().parents[1] / "fixtures" / "images"


@pytest.fixture(scope="module")
def run_dir(corpus_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    args = ["--preset", "tiny", "--data", str(corpus_dir), "--output", str(out), "--steps", "3",
            "--batch-size", "4", "--val-every", "2", "--ckpt-every", "2", "--no-progress"]
    assert pretrain_main(args) == 0
    return out


def test_pretrain_writes_config_tokenizer_metrics_and_checkpoints(run_dir):
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["name"] == "tiny" and cfg["train"]["steps"] == 3 and cfg["data"]["batch_size"] == 4
    assert cfg["model"]["vocab_size"] == json.loads((run_dir / "tokenizer.json").read_text())["model"]["vocab"].__len__()
    assert (run_dir / "checkpoints" / "latest").read_text().strip() == "step_00000003"
    assert [r["step"] for r in read_metrics(run_dir / "metrics.jsonl", "val")] == [0, 2, 3]
    assert list((run_dir / "tensorboard").iterdir())


def test_running_again_resumes(run_dir, corpus_dir, capsys):
    args = ["--preset", "tiny", "--data", str(corpus_dir), "--output", str(run_dir), "--steps", "4",
            "--batch-size", "4", "--val-every", "2", "--ckpt-every", "2", "--no-progress"]
    assert pretrain_main(args) == 0
    assert "resuming at step 3" in capsys.readouterr().err
    steps = [r["step"] for r in read_metrics(run_dir / "metrics.jsonl", "train")]
    assert steps == [1, 2, 3, 4]


def test_generate_and_caption_from_the_checkpoint(run_dir, capsys):
    prompt = "出国留学的理由是什么？回答："
    assert generate_main(["--checkpoint", str(run_dir), "--prompt", prompt, "--max-new-tokens", "5"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith(prompt) and len(out[0]) > len(prompt)
    assert generate_main(["--checkpoint", str(run_dir), "--prompt", "这本书", "--top-k", "5",
                          "--top-p", "0.9", "--num-samples", "2", "--max-new-tokens", "4"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2
    status = caption_main(["--checkpoint", str(run_dir), "--max-new-tokens", "5",
                           str(IMAGES / "hopper.jpg"), str(IMAGES / "truncated_jpeg.jpg")])
    captured = capsys.readouterr()
    assert status == 1  # one image could not be read; the other was still captioned
    assert captured.out.startswith(str(IMAGES / "hopper.jpg") + "\t")
    assert "truncated" in captured.err


def test_missing_checkpoint_is_a_clear_error(tmp_path, capsys):
    assert generate_main(["--checkpoint", str(tmp_path), "--prompt", "x"]) == 2
    assert "no checkpoint at" in capsys.readouterr().err
