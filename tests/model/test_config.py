"""Tests of model/config.py and model/presets.py: every preset serialises and comes back equal;
config.json is versioned and files from before the version (no key) still load."""

from __future__ import annotations

import json

import pytest

from model.config import (
    CONFIG_VERSION,
    ModelConfig,
    RunConfig,
    from_dict,
    load_json,
    load_run_config,
    run_config_from_dict,
    save_json,
    save_run_config,
    to_dict,
)
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


def test_config_json_carries_a_version_and_older_files_still_load(tmp_path):
    cfg = get_preset("tiny_moe")
    save_run_config(cfg, tmp_path / "config.json")
    data = json.loads((tmp_path / "config.json").read_text())
    assert list(data)[0] == "version" and data["version"] == CONFIG_VERSION == 2
    assert load_run_config(tmp_path / "config.json") == cfg
    # version 1: the same shape without the key, as runs before versioning wrote it
    old = to_dict(cfg)
    assert "version" not in old
    assert run_config_from_dict(old) == cfg
    assert run_config_from_dict({**old, "version": 1}) == cfg
    with pytest.raises(ValueError, match="version 3 is newer than this m6 reads"):
        run_config_from_dict({**old, "version": 3})
    with pytest.raises(ValueError, match="positive integer"):
        run_config_from_dict({**old, "version": "2"})
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="bad.json: not valid JSON"):
        load_run_config(tmp_path / "bad.json")
