"""Bad words by word (issue 16.1): boundaries, allow-list, tiers, Traditional, the frozen spam set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpus.document import Document
from corpus.quality.badwords import BadWordsFilter
from corpus.quality.config import BadWordsConfig
from corpus.stage import with_scores
from schemas import RejectedRecord

SPAM = Path(__file__).resolve().parents[2] / "fixtures" / "badwords" / "spam.jsonl"
SUBSTRING = BadWordsConfig(word_boundaries=False, weak=(), allow=(), traditional=False)


@pytest.fixture(scope="module")
def words_filter() -> BadWordsFilter:
    f = BadWordsFilter()
    f.setup()
    return f


def hits(f: BadWordsFilter, text: str) -> list[str]:
    return [m.word for m in f.hits(text)]


def test_a_listed_string_inside_other_words_is_not_a_hit(words_filter):
    # cuts across words at both ends: 水乳交融 (an idiom), 其他/妈妈 (other mothers)
    assert hits(words_filter, "两国人民的关系水乳交融。") == []
    assert hits(words_filter, "其他妈妈都来了。") == []
    # a word of the text, or the head of a compound, is a hit
    assert hits(words_filter, "你他妈的真是个傻逼") == ["他妈的", "傻逼"]
    assert hits(words_filter, "色情电影免费看") == ["色情"]
    old = BadWordsFilter(SUBSTRING)
    old.setup()
    assert hits(old, "两国人民的关系水乳交融。") == ["乳交"]
    assert hits(old, "其他妈妈都来了。") == ["他妈"]


def test_allow_list_compounds(words_filter):
    assert hits(words_filter, "这是他的处女作，也是成人教育的教材。") == []
    # an allow-list of one's own
    f = BadWordsFilter(BadWordsConfig(allow=()))
    f.setup()
    assert hits(f, "这是他的处女作。") == ["处女"]


def test_weak_words_count_only_with_other_evidence(words_filter):
    f = words_filter
    assert [m.weak for m in f.hits("成年人叫成人，祖宗的祠堂")] == [True, True]
    # two distinct weak words are evidence for each other (weak_min_words=2)...
    assert [m.word for m in f.matches("成人的激情")] == ["成人", "激情"]
    # ... one alone, however often, is not
    assert f.matches("成人，成人，成人。") == []
    # a strong word is evidence
    assert [m.word for m in f.matches("成人网站，骚货")] == ["成人", "骚货"]
    # and so is a spam score left by an earlier stage
    assert f.matches("成人视频在线看", spam_score=0.9) != []
    assert f.matches("成人视频在线看", spam_score=0.2) == []
    d = Document(id="a", source="forum", text="成人视频在线看，成人电影")
    (kept,) = f.process(d)
    assert not isinstance(kept, RejectedRecord)
    (dropped,) = f.process(with_scores(d, spam_score=0.9))
    assert isinstance(dropped, RejectedRecord) and dropped.reason == "badwords:zh"
    assert "成人 (zh, weak)" in dropped.detail


def test_traditional_text_is_matched_and_reported_by_the_listed_word(words_filter):
    (r,) = words_filter.process(Document(id="t", source="forum", text="他媽的，操你媽。"))
    assert isinstance(r, RejectedRecord)
    assert "他妈的 (zh)" in r.detail and "操你妈 (zh)" in r.detail
    assert hits(BadWordsFilter(BadWordsConfig(traditional=False)), "他媽的，操你媽。") == ["操你"]


def test_frozen_spam_set_recall_is_not_lost(words_filter):
    rows = [json.loads(x) for x in SPAM.read_text(encoding="utf-8").splitlines()]
    old = BadWordsFilter(SUBSTRING)
    old.setup()
    docs = [Document(id=r["id"], source="web", text=r["text"]) for r in rows]
    caught_old = {d.id for d in docs if not old.keep(d).keep}
    caught_new = {d.id for d in docs if not words_filter.keep(d).keep}
    assert len(rows) == 240 and len(caught_old) == 163 and len(caught_new) == 171
    assert caught_old <= caught_new  # every page the substring matcher caught is still caught


def test_segmenter_spec_is_checked_and_in_the_config():
    assert BadWordsConfig().segmenter == "rjieba==0.2.2"
    with pytest.raises(ValueError, match="segmenter must be one of"):
        BadWordsConfig(segmenter="thulac")
    f = BadWordsFilter(BadWordsConfig(segmenter="jieba==0.42.1"))
    f.setup()
    assert hits(f, "两国人民的关系水乳交融，你他妈的") == ["他妈的"]
