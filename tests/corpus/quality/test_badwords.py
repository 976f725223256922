"""Bad-words filter: per-script matching, policies, reasons, the shipped lists, real text."""

from __future__ import annotations

import pickle
import re

import pytest

from corpus.document import Document
from corpus.quality.badwords import BadWordsFilter
from corpus.quality.config import BadWordsConfig
from corpus.quality.resources import SHIPPED_LISTS, read_word_list
from corpus.stage import split
from schemas import RejectedRecord


def doc(text: str, i: int = 0) -> Document:
    return Document(id=f"d{i}", source="forum", text=text)


@pytest.fixture(scope="module")
def default() -> BadWordsFilter:
    f = BadWordsFilter()
    f.setup()
    return f


def words(f: BadWordsFilter, text: str) -> list[str]:
    return [m.word for m in f.matches(text)]


def test_shipped_lists_are_ldnoobw_with_provenance():
    assert len(read_word_list(SHIPPED_LISTS["zh"])) == 319
    assert len(read_word_list(SHIPPED_LISTS["en"])) == 403
    data = SHIPPED_LISTS["zh"].parent
    assert "CC BY 4.0" in (data / "PROVENANCE.md").read_text(encoding="utf-8")
    assert "Attribution 4.0 International" in (data / "LICENSE-CC-BY-4.0.txt").read_text()


def test_chinese_matches_anywhere_english_on_word_boundaries(default):
    assert words(default, "你他妈的真是个傻逼") == ["他妈的", "傻逼"]  # no spaces needed
    assert words(default, "a class on classic assassins") == []  # "ass" inside words
    assert words(default, "you ASS, 你是ass吗, (ass)") == ["ass", "ass", "ass"]
    assert words(default, "2 girls 1 cup") == ["2 girls 1 cup"]  # phrases, longest wins
    # xxx is a weak word (a placeholder in manuals): a hit, counted only with other evidence
    assert [m.word for m in default.hits("xxx")] == ["xxx"] and default.hits("xxxl尺码") == []
    assert words(default, "xxx") == [] and words(default, "xxx porn") == ["xxx", "porn"]


def test_single_character_entries_are_skipped_by_default(encyclopedia):
    assert "性" in read_word_list(SHIPPED_LISTS["zh"])
    strict = BadWordsFilter(BadWordsConfig(min_cjk_word_chars=1))
    strict.setup()
    default = BadWordsFilter()
    default.setup()
    with_single = sum(1 for t in encyclopedia if strict.matches(t))
    without = sum(1 for t in encyclopedia if default.matches(t))
    # 性格, 牛奶, 乳制品... are everyday words: single characters flag a third of the entries.
    assert with_single >= 20 and without <= 2
    assert words(strict, "他的性格很好") == ["性"] and words(default, "他的性格很好") == []


def test_automaton_agrees_with_a_naive_scan(reviews):
    """Every match, checked against a regex per word on real reviews with bad words in them
    (substring mode, so that the automaton alone is checked)."""
    default = BadWordsFilter(BadWordsConfig(word_boundaries=False, weak=(), allow=(),
                                            traditional=False))
    default.setup()
    vocab = default.words()
    cjk = {w for w in vocab if re.fullmatch(r"[\u4e00-\u9fff]+", w)}
    texts = [t for t in reviews if any(w in t for w in cjk)][:20]
    texts += ["他妈的，这个傻逼。", "Holy shit, what a bitch", "classic bass, 2g1c"]
    assert len(texts) >= 5
    alpha = r"[^\W\u2e80-\u9fff]"  # a letter or digit that is not CJK
    patterns = []
    for w in vocab:
        pat = re.escape(w)
        if re.match(alpha, w[0]):
            pat = f"(?<!{alpha})" + pat
        if re.match(alpha, w[-1]):
            pat = pat + f"(?!{alpha})"
        patterns.append(re.compile(pat))
    for t in texts:
        low = t.lower()
        naive = [(m.start(), m.end()) for p in patterns for m in p.finditer(low)]
        got = [(m.start, m.end) for m in default.matches(t)]
        # Each automaton match is a naive match; each naive match overlaps an automaton match.
        assert set(got) <= set(naive), t
        for s, e in naive:
            assert any(s < ge and gs < e for gs, ge in got), (t, low[s:e])


def test_count_policy_reason_names_the_list(default):
    kept, rejected = split(default.run([doc("他妈的，这个傻逼。", 0), doc("今天是个好日子。", 1),
                                        doc("真是个笨蛋。", 2)]))
    assert [d.id for d in kept] == ["d1", "d2"]
    # 笨蛋 alone is a weak word: a hit that does not count
    assert [d.quality.badword_ratio for d in kept] == [0.0, 0.0]
    (r,) = rejected
    assert r.reason == "badwords:zh" and r.stage == "quality.badwords"
    assert r.score == pytest.approx(5 / 9)  # 他妈的 + 傻逼 over 9 non-space characters
    assert "2 matches > max_count 1" in r.detail and "他妈的 (zh)" in r.detail
    (en,) = default.process(doc("shit, this fucking bitch. 真是的"))
    assert isinstance(en, RejectedRecord) and en.reason == "badwords:en"


def test_ratio_policy_and_custom_list(tmp_path):
    mine = tmp_path / "mine.txt"
    mine.write_text("# my list\n刷单\nspam bot\n\n", encoding="utf-8")
    f = BadWordsFilter(BadWordsConfig(lists=(f"mine={mine}",), policy="ratio", max_ratio=0.1))
    f.setup()
    short = "招聘刷单员，日赚三百。"  # 2 of 11 characters
    long = "我们公司规定员工不得参与任何刷单活动，违者一律开除，请大家互相监督并及时举报。"
    (a,) = f.process(doc(short))
    (b,) = f.process(doc(long))
    assert isinstance(a, RejectedRecord) and a.reason == "badwords:mine"
    assert "ratio 0.1818 > max_ratio 0.1" in a.detail
    assert b.quality.badword_ratio == pytest.approx(2 / len(long))
    assert words(f, "a SPAM BOT here") == ["spam bot"]


def test_real_reviews_rarely_dropped(reviews):
    f = BadWordsFilter()
    kept, rejected = split(f.run(doc(t, i) for i, t in enumerate(reviews) if t))
    assert len(rejected) <= len(kept) * 0.01


def test_stage_pickles_and_lists_are_validated(default):
    again = pickle.loads(pickle.dumps(default))
    assert again._automaton is None
    again.setup()
    assert words(again, "傻逼") == ["傻逼"]
    with pytest.raises(ValueError, match="unknown word list 'fr'"):
        BadWordsFilter(BadWordsConfig(lists=("fr",))).setup()
    with pytest.raises(ValueError, match="policy must be one of"):
        BadWordsConfig(policy="any")
    with pytest.raises(FileNotFoundError, match="word list /nope.txt not found"):
        BadWordsFilter(BadWordsConfig(lists=("x=/nope.txt",))).setup()


class _Everything:
    def may_match(self, text: str) -> bool:
        return True


@pytest.mark.parametrize("min_chars", [2, 1])
def test_prefilter_skips_only_texts_without_a_listed_spelling(min_chars, reviews, encyclopedia):
    f = BadWordsFilter(BadWordsConfig(min_cjk_word_chars=min_chars))
    f.setup()
    forms = [k for k in f._automaton.keys() if f._automaton.get(k)[2] != ("\x00allow",)]
    assert len(forms) > 800
    for form in forms:  # each spelling alone, inside Chinese text, at the end of a page
        for text in (form, f"前{form}后", reviews[0] + form):
            assert f._prefilter.may_match(text), form
    unfiltered = BadWordsFilter(BadWordsConfig(min_cjk_word_chars=min_chars))
    unfiltered.setup()
    unfiltered._prefilter = _Everything()
    texts = reviews + encyclopedia + ["", "x", "他妈", "其他妈妈说", "𠀀🖕中", "成人教育 xxx porn"]
    skipped = 0
    for text in texts:
        assert f.hits(text) == unfiltered.hits(text), text
        skipped += not f._prefilter.may_match(text.lower())
    assert skipped > len(texts) / 2
