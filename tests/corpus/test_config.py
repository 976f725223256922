"""CorpusConfig: JSON round trip, typed overrides, clear errors on unknown settings."""

from __future__ import annotations

import pytest

from corpus.config import CorpusConfig, apply_overrides


def test_json_round_trip_is_identity():
    cfg = apply_overrides(CorpusConfig(), ["shards.target_bytes=1000", "run.dedup=false"])
    again = CorpusConfig.from_json(cfg.to_json())
    assert again == cfg
    assert again.shards.target_bytes == 1000 and again.run.dedup is False


def test_overrides_are_typed():
    cfg = apply_overrides(CorpusConfig(), ["run.dedup_against=a,b", "shards.compression=gzip"])
    assert cfg.run.dedup_against == ("a", "b")
    assert cfg.shards.compression == "gzip"
    with pytest.raises(ValueError, match="expected int"):
        apply_overrides(CorpusConfig(), ["shards.target_bytes=lots"])
    with pytest.raises(ValueError, match="expected true/false"):
        apply_overrides(CorpusConfig(), ["run.dedup=maybe"])


def test_unknown_setting_names_the_choices():
    with pytest.raises(ValueError, match="unknown setting 'shards.size'.*target_bytes"):
        apply_overrides(CorpusConfig(), ["shards.size=3"])
    with pytest.raises(ValueError, match="part.field=value"):
        apply_overrides(CorpusConfig(), ["shards"])


def test_every_config_serialises():
    assert '"target_bytes"' in CorpusConfig().to_json()
