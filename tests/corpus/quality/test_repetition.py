"""Repetition rules: exact fractions, agreement with a plain-Python version, real vs generated."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from corpus.document import Document
from corpus.quality.config import RepetitionConfig
from corpus.quality.repetition import (
    RepetitionFilter,
    _ids_of,
    _Ngrams,
    duplicate_lines,
    ngram_fractions,
    token_arrays,
    tokens,
)
from corpus.stage import split
from schemas import RejectedRecord

ROOT = Path(__file__).resolve().parents[3]
SRC = ROOT / "data" / "sample" / "src"


def doc(text: str, i: int = 0) -> Document:
    return Document(id=f"d{i}", source="common_crawl", text=text)


def articles(name: str) -> list[str]:
    """The crawled articles of data/sample/src/crawl_<name>.txt (``@@`` separates them)."""
    out, cur = [], []
    for line in (SRC / f"crawl_{name}.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("@@"):
            if cur:
                out.append("\n".join(cur))
            cur = []
        elif line.strip() and not line.startswith("#"):
            cur.append(line)
    return out + ["\n".join(cur)] if cur else out


def naive_fractions(toks: list[str], n: int) -> tuple[float, float]:
    """(top n-gram coverage, duplicate n-gram coverage), written the slow obvious way."""
    total = sum(map(len, toks))
    grams = [tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)]
    if not grams:
        return 0.0, 0.0
    counts = Counter(grams)
    best = max(counts.values())
    top_gram = next(g for g in grams if counts[g] == best)  # first to reach the maximum
    cov_top, cov_dup, seen = set(), set(), set()
    for i, g in enumerate(grams):
        if g == top_gram and best > 1:
            cov_top.update(range(i, i + n))
        if g in seen:
            cov_dup.update(range(i, i + n))
        seen.add(g)
    return (sum(len(toks[i]) for i in cov_top) / total,
            sum(len(toks[i]) for i in cov_dup) / total)


def test_exact_fractions_on_hand_made_text():
    top, dup = ngram_fractions(tokens("我爱北京我爱北京天安门"), (2, 4), (5,))
    assert top == {2: pytest.approx(4 / 11), 4: pytest.approx(8 / 11)} and dup == {5: 0.0}
    top, dup = ngram_fractions(tokens("哈哈哈哈哈哈"), (3,), (5, 6))
    assert top == {3: 1.0}  # overlapping occurrences cover each character once
    assert dup == {5: pytest.approx(5 / 6), 6: 0.0}
    top, dup = ngram_fractions(tokens("ab cd ab cd ab"), (2,), (3,))  # English words count whole
    assert top == {2: pytest.approx(0.8)} and dup == {3: pytest.approx(0.6)}
    assert duplicate_lines("a\nb\na\n\na\n") == (4, 0.5, 0.5)


def test_vectorised_equals_plain_python_on_real_text(encyclopedia, reviews):
    texts = encyclopedia[:25] + [r for r in reviews if len(r) > 80][:25]
    texts.append("上海搬家公司 上海搬家公司电话 上海搬家 " * 6)
    for text in texts:
        toks = tokens(text)
        top, dup = ngram_fractions(toks, (2, 3, 4), (7, 8, 9, 10, 11, 12))
        for n in (2, 3, 4):
            assert top[n] == pytest.approx(naive_fractions(toks, n)[0]), (n, text[:30])
        for n in (7, 8, 9, 10, 11, 12):
            assert dup[n] == pytest.approx(naive_fractions(toks, n)[1]), (n, text[:30])


def test_sizes_ruled_out_by_smaller_repeats_equal_plain_python():
    # The 5-, 6- and 9-gram sizes are sorted only where a repeated 3-gram starts and ends
    # a candidate: texts with repeated 3-grams and no repeated 5-gram, a repeated 5-gram but
    # no 6-gram, and repeats of every size.
    texts = ["一二三四五六七" + "甲" + "一二三" + "乙" + "五六七" + "丙" + "三四五",
             "一二三四五" + "天地" + "一二三四五" + "玄黄" + "一二三四六",
             "ab cd ef gh ij kl " * 3 + "中文" * 2]
    for text in texts:
        toks = tokens(text)
        top, dup = ngram_fractions(toks, (2, 3), (5, 6, 9))
        for n in (2, 3):
            assert top[n] == pytest.approx(naive_fractions(toks, n)[0]), (n, text)
        for n in (5, 6, 9):
            assert dup[n] == pytest.approx(naive_fractions(toks, n)[1]), (n, text)
    assert ngram_fractions(tokens(texts[0]), (2, 3), (5, 6, 9))[1] == {5: 0.0, 6: 0.0, 9: 0.0}
    assert ngram_fractions(tokens(texts[1]), (2, 3), (5, 6, 9))[1] == {
        5: pytest.approx(5 / 19), 6: 0.0, 9: 0.0}


def test_zeros_padding_the_sort_are_not_ngrams_of_hash_0():
    # The sizes share one sort, shorter rows padded with zeros; ids of 0 (never a real token's)
    # make real n-grams of hash 0, which the padding must neither join nor be found among.
    ranks = [0, 0, 0, 0, 11, 12, 13, 14, *range(20, 40), 11, 12, 13, 14]
    top = _Ngrams(np.array(ranks, dtype=np.uint64), np.ones(len(ranks), dtype=np.int64)).top(
        (2, 3, 4), 7)
    assert top == {n: naive_fractions([chr(0x4E00 + r) for r in ranks], n)[0] for n in (2, 3, 4)}
    assert top == {2: 4 / 32, 3: 4 / 32, 4: 8 / 32}


def test_verdicts_skipping_duplicate_sizes_equal_all_fractions(encyclopedia):
    # keep() computes a duplicate size only if the fractions of the smaller sizes leave it
    # open; the verdict must be the one all fractions give. Real entries with a share of
    # themselves repeated put the 7- to 12-gram fractions around their thresholds.
    cfg = RepetitionConfig()
    f = RepetitionFilter(cfg)
    reasons = Counter()
    for i, entry in enumerate(encyclopedia[:40]):
        for share in (0.05, 0.08, 0.1, 0.12, 0.15, 0.2):
            cut = int(len(entry) * share)
            text = entry + "。" + entry[i % 7:i % 7 + cut]
            toks = tokens(text)
            top, dup = ngram_fractions(toks, cfg.top_ngram_sizes, cfg.dup_ngram_sizes)
            want = ""
            for n, limit in zip(cfg.top_ngram_sizes, cfg.max_top_ngram_fracs):
                if top[n] > limit:
                    want = want or f"repetition:top_{n}gram"
            for n, limit in zip(cfg.dup_ngram_sizes, cfg.max_dup_ngram_fracs):
                if dup[n] > limit:
                    want = want or f"repetition:dup_{n}gram"
            got = f.keep(doc(text))
            assert got.reason == want, (i, share)
            if want.startswith("repetition:dup_"):
                assert got.score == dup[int(want.split("_")[1].removesuffix("gram"))]
            reasons[want] += 1
    assert reasons[""] and reasons["repetition:dup_7gram"]
    assert sum(reasons[f"repetition:dup_{n}gram"] for n in range(8, 13)), reasons


def test_token_arrays_equal_the_token_list(encyclopedia, reviews):
    # The filter numbers tokens from a code point table; the list of strings is the reference.
    texts = encyclopedia[:40] + reviews[:40] + [
        "İstanbul ABC_def 中文𠀀字 ½² ٣٤ ﬁ Straße 123abc 〇〇 Ωμέγα",  # beyond the BMP: regex path
        "İSTANBUL x_1 ½² ٣٤ ﬁ STRASSE \ud800 Ωμέγα 〇 ㈠ ⅫⅪ 中",  # changes length when lowered
        "", "  \n ", "abc", "中"]
    for text in texts:
        ids, lens = token_arrays(text)
        want_ids, want_lens = _ids_of(tokens(text))
        assert ids.tolist() == want_ids.tolist() and lens.tolist() == want_lens.tolist(), text


def test_real_articles_are_kept(encyclopedia):
    real = encyclopedia + [a for name in ("news", "howto", "blog", "baike") for a in articles(name)]
    assert len(real) > 120
    kept, rejected = split(RepetitionFilter().run(doc(t, i) for i, t in enumerate(real)))
    assert rejected == []
    worst = max(d.quality.top_ngram_frac for d in kept if d.quality.top_ngram_frac is not None)
    assert worst < 0.8  # relative headroom: the top n-gram fraction closest to its threshold


def test_generated_spam_is_dropped(spam_rows):
    seo = [r["text"] for r in spam_rows if r["category"] == "seo"]
    kw = ["减肥药", "最便宜", "正品", "包邮", "减肥药价格", "快速减肥"]
    stuffed = "\n".join(" ".join(kw[(i + j) % 6] for j in range(12)) for i in range(12))
    notice = "本店公告\n" + "欢迎光临本店，全场包邮，满一百减二十，欢迎选购！\n" * 30
    rng = random.Random(0)
    spun = "".join(rng.choice(["最新优惠", "限时抢购", "全网最低", "厂家直销"]) for _ in range(40))
    f = RepetitionFilter()
    kept, rejected = split(f.run(doc(t, i) for i, t in enumerate(seo)))
    assert len(rejected) >= 0.9 * len(seo)
    assert all(r.reason.startswith("repetition:") for r in rejected)
    outs = [next(f.process(doc(t))) for t in (stuffed, notice, spun)]
    assert [o.reason for o in outs] == ["repetition:dup_lines", "repetition:dup_lines",
                                        "repetition:top_3gram"]
    assert outs[1].score == pytest.approx(29 / 31)  # 29 of 31 lines repeat an earlier one
    assert "of 31 lines repeat an earlier line (> 0.3)" in outs[1].detail


def test_short_texts_skip_the_ngram_rules():
    f = RepetitionFilter()
    (out,) = f.process(doc("不错不错，真的不错！"))
    assert not isinstance(out, RejectedRecord)
    assert out.quality.top_ngram_frac is None and out.quality.dup_line_frac == 0.0
    strict = RepetitionFilter(RepetitionConfig(min_tokens=1))
    (out,) = strict.process(doc("不错不错，真的不错！"))
    assert isinstance(out, RejectedRecord) and out.reason == "repetition:top_2gram"


def test_config_is_validated():
    with pytest.raises(ValueError, match="same length"):
        RepetitionFilter(RepetitionConfig(top_ngram_sizes=(2, 3), max_top_ngram_fracs=(0.2,)))
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        RepetitionConfig(max_dup_line_frac=1.5)
