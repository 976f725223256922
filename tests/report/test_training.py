"""Reading a real MoE pretraining run (6 steps of ``tiny_moe`` on the sample corpus)."""

from __future__ import annotations

import json
import shutil

import pytest

from report.collect import collect
from report.page import render
from report.thresholds import thresholds
from report.training import RunError, read_run


def _records(run) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_losses_per_task_validation_lr_and_throughput(moe_run):
    curves = read_run(str(moe_run))
    records = _records(moe_run)
    train = [r for r in records if r["kind"] == "train"]
    assert curves.steps == 6 and curves.config["name"] == "tiny_moe"
    assert curves.train["loss"] == [(r["step"], r["loss"]) for r in train]
    assert set(curves.tasks) == {"text_denoise", "lm", "image_to_text", "mm_to_text"}
    assert [s for s, _ in curves.val["loss"]] == [0, 3, 6]
    assert [s for s, _ in curves.train["lr"]] == list(range(1, 7))
    assert [s for s, _ in curves.train["tokens_per_s"]] == \
        [r["step"] for r in train if "tokens_per_s" in r]


def test_moe_load_and_dropped_tokens_per_layer(moe_run):
    curves = read_run(str(moe_run))
    records = [r for r in _records(moe_run) if r["kind"] == "train"]
    layers = sorted({k.rsplit(".", 1)[0] for r in records for k in r
                     if k.endswith(".tokens_per_expert")})
    assert layers and sorted(curves.expert_tokens) == layers
    for layer in layers:
        per_step = [r[f"{layer}.tokens_per_expert"] for r in records]
        assert curves.expert_tokens[layer] == [sum(col) for col in zip(*per_step)]
        assert curves.moe["dropped_frac"][layer] == \
            [(r["step"], r[f"{layer}.dropped_frac"]) for r in records]
    assert "blocks.1.ffn.dropped_frac" not in curves.train  # per layer, not a training curve


def test_long_runs_are_thinned_but_keep_the_last_point(moe_run):
    curves = read_run(str(moe_run), max_points=4)
    assert len(curves.train["loss"]) == 5 and curves.train["loss"][-1][0] == 6


def test_a_line_cut_by_a_crash_is_skipped(moe_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(moe_run, run, ignore=shutil.ignore_patterns("checkpoints", "tensorboard"))
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 7, "kind": "train", "loss": 6.')
    curves = read_run(str(run))
    assert curves.bad_lines == 1 and curves.steps == 6


def test_odd_values_and_a_config_of_another_shape_are_skipped(moe_run, sample_corpus,
                                                               tmp_path):
    """A record whose MoE values are null or a plain number, and a config.json whose parts are
    not objects: the rest of the run is still drawn (each raised TypeError/AttributeError)."""
    run = tmp_path / "run"
    shutil.copytree(moe_run, run, ignore=shutil.ignore_patterns("checkpoints", "tensorboard"))
    before = read_run(str(run))
    layer = next(iter(before.expert_tokens))
    with open(run / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"step": 7, "kind": "train", "loss": 5.0, "lr": None,
                            f"{layer}.dropped_frac": None, f"{layer}.load_max_over_mean": "x",
                            f"{layer}.tokens_per_expert": 7}) + "\n")
    (run / "config.json").write_text(json.dumps({"name": "odd", "model": [1], "data": 3}))
    curves = read_run(str(run))
    assert curves.train["loss"][-1] == (7, 5.0) and curves.train["lr"] == before.train["lr"]
    assert curves.moe == before.moe and curves.expert_tokens == before.expert_tokens
    page = render(collect(str(sample_corpus)), thresholds(None), curves)
    assert '<span class="tag">preset odd</span>' in page
    (run / "config.json").write_text("[1, 2]")
    assert read_run(str(run)).config is None


def test_a_folder_without_metrics_is_a_clear_error(tmp_path):
    with pytest.raises(RunError, match="no metrics.jsonl"):
        read_run(str(tmp_path))
    (tmp_path / "metrics.jsonl").write_text("\n")
    with pytest.raises(RunError, match="no training or validation records"):
        read_run(str(tmp_path))
