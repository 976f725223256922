"""Tests of model/nn/params.py and m6 params: Table 4 sizes, counted without allocating weights."""

from __future__ import annotations

import json
from dataclasses import replace

import psutil
import pytest

from model.cli.params import main as params_main
from model.nn.params import PAPER_PARAMS, build_on_meta, count_parameters
from model.nn.transformer import M6Model
from model.presets import get_preset


@pytest.mark.parametrize("preset", ["base", "m6_10b"])
def test_presets_match_table_4_within_2_percent(preset):
    cfg = get_preset(preset).model
    n = count_parameters(cfg)
    assert abs(n.total / PAPER_PARAMS[preset] - 1) < 0.02, n.total
    assert n.active == n.total  # dense
    assert (cfg.n_layers, cfg.d_model, cfg.n_heads) == {"base": (24, 1024, 16), "m6_10b": (50, 4096, 128)}[preset]


def test_counting_10b_allocates_nothing():
    rss = psutil.Process().memory_info().rss
    model = build_on_meta(get_preset("m6_10b").model)
    assert all(p.is_meta for p in model.parameters())
    assert psutil.Process().memory_info().rss - rss < 500e6  # 10B float32 weights would be 40 GB


def test_meta_count_equals_a_real_model():
    cfg = replace(get_preset("tiny").model, vocab_size=1000)
    real = M6Model(cfg)
    n = count_parameters(cfg)
    assert n.total == sum(p.numel() for p in real.parameters())
    assert n.embeddings == (1000 + cfg.max_text_len + 3) * cfg.d_model
    per_layer_attn = 4 * cfg.d_model**2 + 4 * cfg.d_model
    assert n.attention == cfg.n_layers * per_layer_attn


def test_cli_prints_the_comparison(capsys):
    assert params_main(["--preset", "base"]) == 0
    out = capsys.readouterr().out
    assert "paper (Table 4): 327.00M" in out and "-0.70% off" in out
    assert params_main(["--preset", "m6_10b", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["paper"] == 10_000_000_000 and abs(data["relative_error"]) < 0.02


def test_m6_100b_matches_table_4_within_3_percent_with_active_parameters():
    cfg = get_preset("m6_100b").model
    n = count_parameters(cfg)
    assert abs(n.total / PAPER_PARAMS["m6_100b"] - 1) < 0.03, n.total
    assert (cfg.n_layers, cfg.d_model, cfg.n_heads, cfg.moe.num_experts) == (24, 1024, 16, 1024)
    # top-1: a token passes one expert per MoE layer, so active stays near the dense base model
    base = count_parameters(get_preset("base").model)
    assert 0.9 < n.active / base.total < 1.1
    assert n.active < n.total / 250
