"""End to end through the commands: m6 pretrain (tiny preset, a few steps, its own tokenizer),
resume by running it again, then m6 generate and m6 caption on the checkpoint; the run config
from --preset, --config, the flags and --set; a run written before config versions still
resumes and generates."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import fsspec
import pytest

from model.apps.caption_cli import main as caption_main
from model.apps.finetune_cli import build_parser as finetune_parser
from model.cli.generate import main as generate_main
from model.cli.pretrain import build_config, build_parser
from model.cli.pretrain import main as pretrain_main
from model.config import save_run_config
from model.presets import get_preset
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


def test_config_file_flags_and_set_in_that_order(tmp_path):
    part = tmp_path / "part.json"  # a part of a run config, without a version (an old file)
    part.write_text(json.dumps({"train": {"steps": 50, "lr": 0.002, "seed": 7},
                                "model": {"dropout": 0.1}}))
    args = build_parser().parse_args(["--preset", "tiny_moe", "--config", str(part),
                                      "--steps", "9", "--set", "train.seed=11",
                                      "--set", "model.moe.top_k=1", "--set", "data.paths=a,b"])
    cfg = build_config(args)
    preset = get_preset("tiny_moe")
    assert cfg.train.steps == 9  # the flag beats the file
    assert cfg.train.lr == 0.002 and cfg.model.dropout == 0.1  # the file beats the preset
    assert cfg.train.seed == 11  # --set beats the file
    assert cfg.model.moe.top_k == 1 and cfg.model.moe.num_experts == preset.model.moe.num_experts
    assert cfg.data.paths == ("a", "b")
    assert cfg.model.d_model == preset.model.d_model and cfg.name == "tiny_moe"
    # a whole config.json written by a run rebuilds that run exactly
    save_run_config(cfg, tmp_path / "config.json")
    again = build_config(build_parser().parse_args(["--config", str(tmp_path / "config.json")]))
    assert again == cfg


@pytest.mark.parametrize("argv, message", [
    (["--set", "train.stepz=3"], "--set: unknown setting 'train.stepz'"),
    (["--set", "train.steps"], "not of the form part.field=value"),
    (["--set", "train.steps=many"], "expected int, got 'many'"),
    (["--config", "/nonexistent/run.json"], "--config /nonexistent/run.json: cannot read it"),
    (["--task-weights", "lm=2", "poem=1"], "unknown task 'poem'"),
])
def test_bad_settings_are_one_line_errors(argv, message, tmp_path, capsys):
    assert pretrain_main([*argv, "--output", str(tmp_path / "run"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("m6 pretrain: ") and message in err[0]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("parser", [build_parser(), finetune_parser()], ids=["pretrain", "finetune"])
def test_help_shows_every_option_with_its_help_and_default(parser):
    text = " ".join(parser.format_help().split())
    for action in parser._actions:
        assert action.help, f"{action.dest} has no help text"
        if action.option_strings and action.default not in (None, False, [], "==SUPPRESS=="):
            assert f"(default: {action.default})" in text, action.dest
    assert "--config FILE" in text and "--set PART.FIELD=V" in text
    if parser.prog == "m6 pretrain":
        assert "optimiser steps (default: the config's train.steps)" in text


def test_a_run_from_before_config_versions_resumes_and_generates(run_dir, corpus_dir, tmp_path,
                                                                 capsys):
    old = tmp_path / "old"
    shutil.copytree(run_dir, old)
    # the config in the shape runs wrote before it had a version
    for path in [old / "config.json", *old.glob("checkpoints/step_*/trainer.json")]:
        meta = json.loads(path.read_text())
        cfg = meta if path.name == "config.json" else meta["config"]
        assert cfg.pop("version") == 2
        path.write_text(json.dumps(meta))
    assert generate_main(["--checkpoint", str(old), "--prompt", "这本书", "--max-new-tokens", "3"]) == 0
    assert capsys.readouterr().out.startswith("这本书")
    step = int((old / "checkpoints" / "latest").read_text().strip().split("_")[1])
    args = ["--preset", "tiny", "--data", str(corpus_dir), "--output", str(old),
            "--steps", str(step + 1), "--batch-size", "4", "--val-every", "2", "--no-progress"]
    assert pretrain_main(args) == 0
    assert f"resuming at step {step}" in capsys.readouterr().err
    assert json.loads((old / "config.json").read_text())["version"] == 2


def test_checkpoint_dir_takes_an_fsspec_url_for_resume_and_generate(corpus_dir, tmp_path, capsys):
    url = f"memory://m6-cli-tests/{tmp_path.name}"
    fs = fsspec.filesystem("memory")
    out = tmp_path / "run"
    try:
        def args(steps):
            return ["--preset", "tiny", "--data", str(corpus_dir), "--output", str(out),
                    "--checkpoint-dir", url, "--steps", str(steps), "--batch-size", "4",
                    "--val-every", "0", "--ckpt-every", "1", "--no-progress"]

        assert pretrain_main(args(1)) == 0
        assert not (out / "checkpoints").exists()
        assert fs.cat_file(f"/m6-cli-tests/{tmp_path.name}/latest") == b"step_00000001\n"
        assert pretrain_main(args(2)) == 0
        assert f"resuming at step 1 from {url}" in capsys.readouterr().err
        assert generate_main(["--checkpoint", url, "--prompt", "这本书", "--max-new-tokens", "3"]) == 0
        assert capsys.readouterr().out.startswith("这本书")
        assert pretrain_main([*args(1), "--fresh"]) == 0  # --fresh empties the URL first
        assert "resuming" not in capsys.readouterr().err
        assert fs.cat_file(f"/m6-cli-tests/{tmp_path.name}/latest") == b"step_00000001\n"
        assert not fs.exists(f"/m6-cli-tests/{tmp_path.name}/step_00000002")
    finally:
        if fs.exists(f"/m6-cli-tests/{tmp_path.name}"):
            fs.rm(f"/m6-cli-tests/{tmp_path.name}", recursive=True)
