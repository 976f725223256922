"""``m6 crawl cc``'s settings: JSON round trip, ``--set`` overrides, clear errors; the Beam DoFn
survives pickling (Beam ships it to workers) and builds its fetcher (locks, TLS context) there."""

from __future__ import annotations

import json
import pickle

import pytest

from corpus.crawl.cc_config import CcCrawlConfig, RangeFetchConfig, SelectConfig
from corpus.crawl.cc_fetch import RangeFetcher
from schemas.config import apply_overrides


def test_config_round_trips_through_json_and_overrides():
    cfg = CcCrawlConfig(index=("a/*.parquet",),
                        select=SelectConfig(languages=("zho", "yue"), limit=5, sample=0.5),
                        fetch=RangeFetchConfig(workers=4, allow_addresses=("10.0.0.0/8",)))
    back = CcCrawlConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg
    assert back.fetch.worker_rate == 2.5
    cfg = apply_overrides(cfg, ["fetch.backoff_max_s=120", "select.mime=text/html,application/xhtml+xml"])
    assert cfg.fetch.backoff_max_s == 120.0
    assert cfg.select.mime == ("text/html", "application/xhtml+xml")
    with pytest.raises(ValueError, match="unknown setting"):
        apply_overrides(cfg, ["fetch.speed=9"])
    with pytest.raises(ValueError, match="sample"):
        SelectConfig(sample=0.0)
    with pytest.raises(ValueError, match="concurrency"):
        RangeFetchConfig(concurrency=0)


def test_the_dofn_pickles_and_builds_its_fetcher_in_setup(tmp_path):
    from pipelines.crawl_cc import FetchBatch

    dofn = pickle.loads(pickle.dumps(FetchBatch(RangeFetchConfig(workers=2), str(tmp_path))))
    assert not hasattr(dofn, "fetcher")
    dofn.setup()
    assert isinstance(dofn.fetcher, RangeFetcher)
    assert dofn.fetcher.gate.delay_s == pytest.approx(0.2)  # 10 requests/s shared by 2 workers
