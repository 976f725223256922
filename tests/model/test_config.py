"""Tests of model/config.py and model/presets.py: every preset serialises and comes back equal."""

from __future__ import annotations

import json

import pytest

from model.config import ModelConfig, RunConfig, from_dict, load_json, save_json, to_dict
from model.presets import PRESETS, get_preset


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_round_trips_through_json(name, tmp_path):
    cfg = get_preset(name)
    assert cfg.name == name
    save_json(cfg, tmp_path / "config.json")
    back = load_json(RunConfig, tmp_path / "config.json")
    assert back == cfg
    assert isinstance(back.data.mix, tuple) and isinstance(back.data.mix[0], tuple)
    assert (back.model.moe is None) == (cfg.model.moe is None)


def test_unknown_fields_and_presets_are_errors():
    data = to_dict(get_preset("tiny"))
    data["model"]["d_modle"] = 3
    with pytest.raises(ValueError, match="d_modle"):
        from_dict(RunConfig, json.loads(json.dumps(data)))
    with pytest.raises(ValueError, match="choose one of tiny, base"):
        get_preset("huge")
    with pytest.raises(ValueError, match="not divisible"):
        ModelConfig(d_model=100, n_heads=16)
