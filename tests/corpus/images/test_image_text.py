"""Pair text cleaning with caption-sized limits (corpus/images/text.py)."""

from __future__ import annotations

import pickle

from corpus.images.config import PairTextConfig
from corpus.images.records import ImagePair
from corpus.images.text import PairText, cut_text
from schemas import RejectedRecord


def pair(text: str) -> ImagePair:
    return ImagePair(id="p1", source="webpage", text=text, image_url="https://x.cn/a.jpg",
                     url="https://x.cn/page.html")


def clean(text: str, cfg: PairTextConfig | None = None):
    return PairText(cfg).clean(pair(text))


def test_markup_and_repeated_punctuation_are_cleaned_like_the_text_corpus():
    out = clean("<b>故宫角楼的雪景</b>！！！😀")
    assert out.text == "故宫角楼的雪景！"


def test_short_caption_survives_where_a_passage_would_not():
    out = clean("长城的秋天")  # 5 characters: under the corpus's 15, at the caption minimum
    assert out.text == "长城的秋天"


def test_too_short_is_rejected_with_the_cleaning_reason():
    out = clean("<i>雪景</i>")
    assert isinstance(out, RejectedRecord)
    assert (out.reason, out.kind, out.stage) == ("text_too_short", "image_text", "clean.length")
    assert out.image_url == "https://x.cn/a.jpg" and out.url == "https://x.cn/page.html"


def test_english_caption_is_kept_by_default_and_dropped_when_chinese_is_required():
    assert clean("A snowy corner tower of the Forbidden City").text.startswith("A snowy")
    out = clean("A snowy corner tower of the Forbidden City", PairTextConfig(min_cjk_ratio=0.5))
    assert isinstance(out, RejectedRecord) and out.reason == "not_chinese"


def test_long_text_is_cut_at_a_sentence_end():
    text = "昨夜北京降雪。" * 50  # 350 characters
    out = clean(text, PairTextConfig(max_chars=100))
    assert len(out.text) == 98 and out.text.endswith("。")


def test_cut_text_without_sentence_end_cuts_at_the_limit():
    assert cut_text("一" * 300, 256) == "一" * 256
    assert cut_text("短句。", 256) == "短句。"


def test_quality_scores_of_the_language_rule_travel_with_the_pair():
    out = clean("故宫角楼的雪景 snow")
    assert out.text == "故宫角楼的雪景 snow"
    assert out.quality.cjk_ratio == 7 / 8  # 7 Han characters, 1 English word


def test_stage_pickles_and_runs_after_unpickling():
    stage = pickle.loads(pickle.dumps(PairText()))
    assert [p.text for p in stage.run([pair("故宫角楼的雪景")])] == ["故宫角楼的雪景"]
