"""quality_stages: order, switches, config round trip, pickling, and the whole chain on real text."""

from __future__ import annotations

import pickle

import pytest

from corpus.config import CorpusConfig, apply_overrides
from corpus.document import Document
from corpus.quality import QualityConfig, quality_stages
from corpus.quality.config import (
    BadWordsConfig,
    LanguageConfig,
    PerplexityConfig,
    RepetitionConfig,
    SpamConfig,
)
from corpus.stage import split
from schemas import RejectedRecord


@pytest.fixture(scope="module")
def full_cfg(lm_model, spam_model) -> QualityConfig:
    return QualityConfig(perplexity=PerplexityConfig(model=str(lm_model)),
                         spam=SpamConfig(model=str(spam_model)))


def test_order_and_optional_models(full_cfg, caplog):
    assert [s.name for s in quality_stages(full_cfg)] == [
        "quality.language", "quality.badwords", "quality.repetition", "quality.spam",
        "quality.perplexity"]
    assert [s.name for s in quality_stages()] == [
        "quality.language", "quality.badwords", "quality.repetition"]
    assert "no kenlm model" in caplog.text and "no spam model" in caplog.text
    off = QualityConfig(language=LanguageConfig(enabled=False),
                        badwords=BadWordsConfig(enabled=False),
                        repetition=RepetitionConfig(enabled=False))
    assert quality_stages(off) == []


def test_missing_model_file_fails_early_with_the_fix():
    cfg = QualityConfig(perplexity=PerplexityConfig(model="/nonexistent/lm.bin"))
    with pytest.raises(FileNotFoundError, match="m6 lm train"):
        quality_stages(cfg)
    cfg = QualityConfig(spam=SpamConfig(model="/nonexistent/spam.bin"))
    with pytest.raises(FileNotFoundError, match="m6 spam train"):
        quality_stages(cfg)


def test_config_lives_in_the_corpus_config():
    cfg = apply_overrides(CorpusConfig(), [
        "quality.perplexity.model=m.bin", "quality.perplexity.max_percentile=95",
        "quality.badwords.lists=zh", "quality.repetition.dup_ngram_sizes=8,9",
        "quality.repetition.max_dup_ngram_fracs=0.2,0.1", "quality.language.enabled=false"])
    q = cfg.quality
    assert (q.perplexity.model, q.perplexity.max_percentile) == ("m.bin", 95.0)
    assert q.badwords.lists == ("zh",) and q.repetition.dup_ngram_sizes == (8, 9)
    assert q.language.enabled is False
    assert CorpusConfig.from_json(cfg.to_json()) == cfg
    half = apply_overrides(CorpusConfig(), ["quality.repetition.dup_ngram_sizes=8"])
    with pytest.raises(ValueError, match="same length"):
        quality_stages(half.quality)


def test_every_stage_pickles_before_and_after_setup(full_cfg):
    for stage in quality_stages(full_cfg):
        fresh = pickle.loads(pickle.dumps(stage))
        stage.setup()
        again = pickle.loads(pickle.dumps(stage))
        again.setup()
        assert type(fresh) is type(again)


def test_chain_on_real_and_junk_documents(full_cfg, encyclopedia, heldout_reviews):
    docs = [Document(id=f"enc{i}", source="encyclopedia", text=t)
            for i, t in enumerate(encyclopedia[:20])]
    docs += [Document(id=f"rev{i}", source="forum", text=t)
             for i, t in enumerate(heldout_reviews[:30]) if len(t) >= 15]
    junk = {
        "en": "The Grand Canal is the longest artificial waterway in the world.",
        "bad": "他张口就是：他妈的，傻逼，王八蛋，周围的人都看不下去了。",
        "rep": "本店公告\n" + "欢迎光临本店，全场包邮，满一百减二十，欢迎选购！\n" * 10,
        "spam": "急用钱？找融达信贷！征信花了也能下款，不看负债，当天放款，V信：dk5566",
        "garbled": "栬钹謎蚪邻潗嗸鐻俌姰脌鸈严鱒购碤洸瞠嘏晴隤橠沊怽鎀蝗妬塌盷輄",
    }
    docs += [Document(id=k, source="common_crawl", text=t) for k, t in junk.items()]
    out = docs
    rejected: list[RejectedRecord] = []
    for stage in quality_stages(full_cfg):
        out, rej = split(stage.run(out))
        rejected += rej
    why = {r.id: (r.stage, r.reason) for r in rejected}
    assert why["en"] == ("quality.language", "lang:en")
    assert why["bad"] == ("quality.badwords", "badwords:zh")
    assert why["rep"] == ("quality.repetition", "repetition:dup_lines")
    assert why["spam"] == ("quality.spam", "spam")
    assert why["garbled"] == ("quality.perplexity", "perplexity_too_high")
    real_kept = [d for d in out if d.id.startswith(("enc", "rev"))]
    assert len(real_kept) >= 0.9 * (len(docs) - len(junk))
    for d in real_kept:
        q = d.quality
        assert q.lang == "zh" and q.badword_ratio is not None and q.spam_score < 0.5
        assert q.perplexity > 1 and q.perplexity_bucket in ("head", "middle", "tail")
        assert q.dup_line_frac is not None
