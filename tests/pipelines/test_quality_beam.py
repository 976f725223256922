"""The quality stages under Beam: run by the generic adapter with real kenlm and fastText models,
models loaded in DoFn.setup, rejected rows carrying reasons, reasons counted per stage."""

from __future__ import annotations

import json
from pathlib import Path

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from corpus.document import Document
from corpus.quality import QualityConfig, quality_stages
from corpus.quality.config import PerplexityConfig, SpamConfig
from corpus.quality.lm_train import LmTrainConfig, train_lm
from corpus.quality.spam_cli import train_spam
from pipelines.stage_dofn import ApplyStages

ROOT = Path(__file__).resolve().parents[2]
ENCYCLOPEDIA = ROOT / "data" / "sample" / "dumps" / "encyclopedia.jsonl"
SPAM_SET = ROOT / "data" / "sample" / "spam" / "labelled.jsonl"


def test_quality_stages_in_a_pipeline(tmp_path):
    lm = tmp_path / "lm.bin"
    train_lm([ENCYCLOPEDIA], lm, LmTrainConfig(holdout=0.2))
    spam = tmp_path / "spam.bin"
    train_spam([str(SPAM_SET)], spam)
    cfg = QualityConfig(perplexity=PerplexityConfig(model=str(lm)),
                        spam=SpamConfig(model=str(spam)))
    texts = [json.loads(line)["text"] for line in ENCYCLOPEDIA.read_text().splitlines()[:12]
             if line.startswith('{"id": "enc-0')][:8]
    docs = [Document(id=f"enc{i}", source="encyclopedia", text=t) for i, t in enumerate(texts)]
    docs += [
        Document(id="bad", source="forum", text="他妈的，这个傻逼，真是个王八蛋。"),
        Document(id="spam", source="forum",
                 text="【金沙娱乐】新用户注册即送88元彩金，首存100%返利，客服QQ：12345678"),
        Document(id="en", source="forum", text="This page is written in English only, sorry."),
    ]
    p = beam.Pipeline(runner=FnApiRunner())
    kept, rejected = (p | beam.Create(docs)
                      | "Quality" >> ApplyStages(quality_stages(cfg), "Quality"))
    assert_that(kept | beam.Map(lambda d: (d.id, d.quality.lang,
                                           d.quality.perplexity_bucket is not None)),
                equal_to([(f"enc{i}", "zh", True) for i in range(len(texts))]), label="kept")
    assert_that(rejected | beam.Map(lambda r: (r.id, r.stage, r.reason)),
                equal_to([("bad", "quality.badwords", "badwords:zh"),
                          ("spam", "quality.spam", "spam"),
                          ("en", "quality.language", "lang:en")]), label="rejected")
    result = p.run()
    result.wait_until_finish()
    counters = {(c.key.metric.namespace, c.key.metric.name): c.committed
                for c in result.metrics().query(MetricsFilter())["counters"]}
    assert counters[("m6.quality.badwords", "badwords:zh")] == 1
    assert counters[("m6.quality.spam", "spam")] == 1
    assert counters[("m6.quality.language", "lang:en")] == 1
    assert counters[("m6.quality.perplexity", "kept")] == len(texts)
