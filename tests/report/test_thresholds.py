"""The thresholds drawn on the report's histograms are the ones the filters used in the run."""

from __future__ import annotations

import json

import pytest

from corpus.config import CorpusConfig
from corpus.quality.perplexity import PerplexityFilter, perplexity_stage
from report.thresholds import thresholds


@pytest.fixture(scope="module")
def config(sample_corpus) -> dict:
    return json.loads((sample_corpus / "config.json").read_text())


def test_the_perplexity_line_is_the_filters_own_threshold(config):
    stage = PerplexityFilter(CorpusConfig.from_dict(config).quality.perplexity)
    stage.setup()
    doc_max, _ = stage.thresholds
    th = thresholds(config)
    values = sorted(t.value for t in th.perplexity)
    assert doc_max in values and len(values) == 3  # the maximum and the two bucket cuts
    assert values[-1] == doc_max
    assert any("p99 of the reference" in n for n in th.notes)


def test_plain_thresholds_come_from_the_config(config):
    changed = json.loads(json.dumps(config))
    changed["clean"]["min_text_chars"] = 42
    changed["images"]["filters"]["min_pixels"] = 12345
    changed["images"]["filters"]["min_colourfulness"] = 0.0
    th = thresholds(changed)
    assert [t.value for t in th.length["text"]] == [42]
    assert [t.value for t in th.images["pixels"]] == [12345]
    assert th.images["colourfulness"] == []  # off: nothing to draw


def test_a_model_that_cannot_be_read_here_leaves_the_line_out_and_says_why(config, tmp_path):
    moved = json.loads(json.dumps(config))
    moved["quality"]["perplexity"]["model"] = str(tmp_path / "elsewhere.bin")
    th = thresholds(moved)
    assert th.perplexity == [] and "elsewhere.bin.json" in th.perplexity_note
    moved["quality"]["perplexity"]["model"] = "gs://bucket/lm.bin"
    assert "remote" in thresholds(moved).perplexity_note
    moved["quality"]["enabled"] = False
    assert "off" in thresholds(moved).perplexity_note


def test_no_or_unreadable_config_draws_no_thresholds():
    assert "no config.json" in thresholds(None).notes[0]
    th = thresholds({"clean": {"no_such_field": 1}})
    assert th.length == {} and "could not be read" in th.notes[0]


@pytest.mark.parametrize("foreign", [[1, 2], "config", {"clean": None}, {"run": None},
                                     {"quality": {"perplexity": None}}])
def test_a_config_json_of_another_shape_draws_no_thresholds_and_says_why(foreign):
    """A JSON list or string, or a part set to null, is reported, not raised (AttributeError
    took the whole report down)."""
    th = thresholds(foreign)
    assert th.length == {} and th.images == {} and th.perplexity == []
    assert "could not be read" in th.notes[0] and th.perplexity_note == "config.json not readable"


def test_per_paragraph_mode_draws_the_paragraph_threshold_too(config):
    per_para = json.loads(json.dumps(config))
    per_para["quality"]["perplexity"]["per_paragraph"] = True
    stage = perplexity_stage(CorpusConfig.from_dict(per_para).quality.perplexity)
    stage.setup()
    doc_max, para_max = stage.thresholds
    labels = {t.label: t.value for t in thresholds(per_para).perplexity}
    assert labels[f"max {doc_max:,.0f}"] == doc_max
    assert labels[f"paragraph max {para_max:,.0f}"] == para_max != doc_max


def test_a_version_1_config_json_still_draws(config):
    """config.json of runs made before the switches moved (``run.quality`` then) still loads."""
    from pathlib import Path

    old = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "config" /
                      "corpus_config_v1.json").read_text())
    assert old["run"]["quality"] is False
    with pytest.warns(FutureWarning) as caught:
        th = thresholds(old)
    # one warning per moved setting of version 1 (the switches, and images.fetch -> fetch) and
    # one for the setting that is gone (dedup.cc_rounds)
    assert len(caught) == 8 and any("'run.quality' is now 'quality.enabled'" in str(w.message)
                                    for w in caught)
    assert any("'dedup.cc_rounds' is no longer read" in str(w.message) for w in caught)
    assert th.perplexity_note == "the perplexity filter was off in this run"
    assert [t.value for t in th.length["text"]] == [15]


def test_the_reference_distribution_is_shown_beside_each_source(config, sample_corpus):
    """Issue 16.3: kept and dropped perplexity per source, and the reference's."""
    from corpus.quality.lm_reference import load_reference, value_at

    th = thresholds(config)
    model = CorpusConfig.from_dict(config).quality.perplexity.model
    table = load_reference(model, None)["document_percentiles"]
    label, p10, p50, p90 = th.perplexity_reference
    assert label.startswith("reference (holdout, ")
    assert (p10, p50, p90) == (value_at(table, 10), value_at(table, 50), value_at(table, 90))
    html = (sample_corpus / "report.html").read_text(encoding="utf-8")
    assert "Perplexity per source and of the reference" in html
    assert f">{p50:,.0f}<" in html
    # and the pairs by language of their text (stats.json pair_languages, issue 16.2)
    assert "Pairs by language of their text" in html
