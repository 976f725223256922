"""CorpusConfig: JSON round trip, typed overrides, clear errors on unknown settings, the config
version and the settings that moved in version 2 (read with a warning, for one version)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from corpus.config import CONFIG_VERSION, DROPPED, MOVED, CorpusConfig, apply_overrides

V1 = Path(__file__).resolve().parents[1] / "fixtures" / "config" / "corpus_config_v1.json"


def test_json_round_trip_is_identity():
    cfg = apply_overrides(CorpusConfig(), ["shards.target_bytes=1000", "dedup.enabled=false"])
    again = CorpusConfig.from_json(cfg.to_json())
    assert again == cfg
    assert again.shards.target_bytes == 1000 and again.dedup.enabled is False
    assert json.loads(cfg.to_json())["version"] == CONFIG_VERSION == 2


def test_overrides_are_typed():
    cfg = apply_overrides(CorpusConfig(), ["run.dedup_against=a,b", "shards.compression=gzip"])
    assert cfg.run.dedup_against == ("a", "b")
    assert cfg.shards.compression == "gzip"
    with pytest.raises(ValueError, match="expected int"):
        apply_overrides(CorpusConfig(), ["shards.target_bytes=lots"])
    with pytest.raises(ValueError, match="expected true/false"):
        apply_overrides(CorpusConfig(), ["dedup.enabled=maybe"])


def test_unknown_setting_names_the_choices():
    with pytest.raises(ValueError, match="unknown setting 'shards.size'.*target_bytes"):
        apply_overrides(CorpusConfig(), ["shards.size=3"])
    with pytest.raises(ValueError, match="part.field=value"):
        apply_overrides(CorpusConfig(), ["shards"])


def test_every_config_serialises():
    assert '"target_bytes"' in CorpusConfig().to_json()


def test_each_part_switch_lives_in_its_part():
    cfg = CorpusConfig()
    assert (cfg.dedup.enabled, cfg.quality.enabled, cfg.images.enabled) == (True, True, True)
    assert (cfg.quality.language.enabled, cfg.quality.badwords.enabled,
            cfg.quality.repetition.enabled) == (True, True, True)
    assert sorted(vars(cfg.run)) == ["batch_records", "crawl_source", "dedup_against"]


def test_a_version_1_config_json_still_loads_with_a_warning_per_moved_key():
    """The config.json of a run made before the switches moved: every value lands at its new
    name, and the file written again differs from the old one by exactly the moves and the
    version."""
    old = json.loads(V1.read_text())
    assert "version" not in old and old["run"]["dedup"] is False
    with pytest.warns(FutureWarning) as caught:
        cfg = CorpusConfig.from_json(V1.read_text(), where="config.json")
    messages = sorted(str(w.message) for w in caught)
    assert messages == sorted([f"config.json: {o!r} is now {n!r}; the old name is read until "
                               "config version 3" for o, n in MOVED.items()]
                              + [f"config.json: {d!r} is no longer read: {why}"
                                 for d, why in DROPPED.items()])
    assert (cfg.version, cfg.dedup.enabled, cfg.quality.enabled, cfg.images.enabled) == (
        2, False, False, True)
    assert cfg.quality.perplexity.model == "out/models/lm/encyclopedia.char5.bin"
    expected = json.loads(V1.read_text())
    for old_name, new_name in MOVED.items():
        *path, leaf = old_name.split(".")
        part = expected
        for name in path:
            part = part[name]
        value = part.pop(leaf)
        *path, leaf = new_name.split(".")
        part = expected
        for name in path:
            part = part[name]
        part[leaf] = value
    for name in DROPPED:
        *path, leaf = name.split(".")
        part = expected
        for key in path:
            part = part[key]
        part.pop(leaf)
    expected["version"] = 2
    # parts and fields added since version 1 (budget, parse, dumps, fetch.allow_addresses, ...)
    # are absent from the old file and take their defaults
    assert json.loads(cfg.to_json()) == _overlay(json.loads(CorpusConfig().to_json()), expected)


def test_a_dropped_setting_is_read_with_a_warning_and_refused_in_set():
    """A config.json of version 2 written before ``dedup.cc_rounds`` went (the image components
    have no rounds now) still loads, to the same config without it; ``--set`` of it is an
    unknown setting."""
    old = json.loads(CorpusConfig().to_json())
    old["dedup"]["cc_rounds"] = 8
    with pytest.warns(FutureWarning, match="'dedup.cc_rounds' is no longer read: image"):
        cfg = CorpusConfig.from_json(json.dumps(old), where="config.json")
    assert cfg == CorpusConfig()
    assert "cc_rounds" not in json.loads(cfg.to_json())["dedup"]
    with pytest.raises(ValueError, match="cc_rounds"):
        apply_overrides(CorpusConfig(), ["dedup.cc_rounds=4"])


def _overlay(defaults: dict, values: dict) -> dict:
    out = dict(defaults)
    for key, value in values.items():
        nested = isinstance(value, dict) and isinstance(defaults.get(key), dict)
        out[key] = _overlay(defaults[key], value) if nested else value
    return out


def test_moved_names_work_in_set_with_a_warning():
    with pytest.warns(FutureWarning, match="'run.images' is now 'images.enabled'"):
        cfg = apply_overrides(CorpusConfig(), ["run.images=false"])
    assert cfg.images.enabled is False and cfg == apply_overrides(CorpusConfig(),
                                                                  ["images.enabled=false"])
    with pytest.warns(FutureWarning, match="'quality.use_repetition' is now"):
        cfg = apply_overrides(CorpusConfig(), ["quality.use_repetition=0"])
    assert cfg.quality.repetition.enabled is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the current names warn about nothing
        apply_overrides(CorpusConfig(), ["dedup.enabled=false"])
        CorpusConfig.from_json(CorpusConfig().to_json())


def test_a_moved_name_and_its_new_name_must_agree():
    both = {"run": {"dedup": False}, "dedup": {"enabled": True}}
    with pytest.raises(ValueError, match="'run.dedup'.*'dedup.enabled' are both set"):
        CorpusConfig.from_dict(both)
    same = {"run": {"dedup": False}, "dedup": {"enabled": False}}
    with pytest.warns(FutureWarning):
        assert CorpusConfig.from_dict(same).dedup.enabled is False


@pytest.mark.parametrize("version, error", [
    (3, "config version 3 is newer than this m6 reads \\(2\\)"),
    ("2", "version must be a positive integer"), (0, "version must be a positive integer"),
])
def test_a_version_it_cannot_read_is_an_error(version, error):
    with pytest.raises(ValueError, match=error):
        CorpusConfig.from_dict({"version": version})


def test_a_moved_part_moves_the_settings_inside_it():
    """``schemas.config`` moves whole parts too, in files and in ``--set`` (a part such as
    ``images.fetch`` moving to the top level takes its fields with it)."""
    from schemas.config import move_keys, move_override

    moved = {"images.fetch": "fetch"}
    with pytest.warns(FutureWarning, match="'images.fetch' is now 'fetch'"):
        assert move_override("images.fetch.batch_size=8", moved) == "fetch.batch_size=8"
    assert move_override("images.fetcher=1", moved) == "images.fetcher=1"
    with pytest.warns(FutureWarning, match="config.json: 'images.fetch' is now 'fetch'"):
        out = move_keys({"images": {"fetch": {"batch_size": 8}, "download": True}}, moved,
                        "config.json")
    assert out == {"images": {"download": True}, "fetch": {"batch_size": 8}}
