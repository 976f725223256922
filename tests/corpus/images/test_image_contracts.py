"""Contracts of the image path: every stage survives a pickle round trip and still works, and
the config serialises to JSON and back (as ``config.json`` beside the output)."""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path

import pytest

from corpus.config import CorpusConfig, apply_overrides
from corpus.fetch.config import FetchConfig
from corpus.fetch.stage import FetchImages
from corpus.images.config import ImageConfig
from corpus.images.join import JoinImages
from corpus.images.listing import ReadListingFile
from corpus.images.pairs import MinePairs
from corpus.images.process import ProcessImages
from corpus.images.records import ImageJob, ImagePair
from corpus.images.text import PairText

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "images"


@pytest.mark.parametrize("stage", [
    MinePairs(), PairText(), ReadListingFile(), JoinImages(), ProcessImages(), FetchImages(),
], ids=lambda s: type(s).__name__)
def test_stage_pickles_after_setup(stage):
    stage.setup()  # loaded state (clean stages, fetcher, classifier) must not break pickling
    clone = pickle.loads(pickle.dumps(stage))
    assert type(clone) is type(stage) and clone.name == stage.name
    clone.setup()


def test_unpickled_image_stage_processes():
    stage = ProcessImages()
    stage.setup()
    clone = pickle.loads(pickle.dumps(stage))
    pair = ImagePair(id="p", source="webpage", text="一张花的照片", image_url="https://x.cn/f.jpg")
    (rec,) = clone.run([ImageJob("https://x.cn/f.jpg", [pair],
                                 body=(FIX / "flower.jpg").read_bytes())])
    assert (rec.width, rec.height) == (480, 360)


def test_image_config_round_trips_through_json():
    cfg = CorpusConfig()
    cfg = dataclasses.replace(cfg, images=dataclasses.replace(cfg.images, download=True),
                              fetch=FetchConfig(threads=3, user_agent="ua/1"))
    back = CorpusConfig.from_json(cfg.to_json())
    assert (back.images, back.fetch) == (cfg.images, cfg.fetch)
    assert json.loads(cfg.to_json())["images"]["filters"]["min_pixels"] == 5000


def test_overrides_reach_nested_image_settings():
    cfg = apply_overrides(CorpusConfig(), [
        "images.download=true", "images.filters.min_pixels=10000",
        "images.normalise.format=WEBP", "fetch.per_host_delay_s=2",
        "images.filters.content_classifier=my.pkg:make"])
    im: ImageConfig = cfg.images
    assert (im.download, im.filters.min_pixels, im.normalise.format) == (True, 10000, "WEBP")
    assert cfg.fetch.per_host_delay_s == 2.0
    assert im.filters.content_classifier == "my.pkg:make"


def test_the_old_images_fetch_key_still_works_with_a_warning(caplog):
    cfg = apply_overrides(CorpusConfig(), ["images.fetch.per_host_delay_s=3"])
    assert cfg.fetch.per_host_delay_s == 3.0
    old = json.loads(CorpusConfig().to_json())
    old["images"]["fetch"] = old.pop("fetch") | {"user_agent": "old/1"}
    assert CorpusConfig.from_dict(old).fetch.user_agent == "old/1"
    assert sum("'images.fetch' is deprecated" in r.message for r in caplog.records) == 2


def test_fetch_config_refuses_nonsense():
    with pytest.raises(ValueError, match="fetch.threads must be >= 1"):
        FetchConfig(threads=0)
    with pytest.raises(ValueError, match="fetch.read_timeout_s must be > 0"):
        FetchConfig(read_timeout_s=0)
