"""Tests of model/apps/caption_metrics.py: BLEU-4 and CIDEr-D on hand-computed examples and
against values computed by pycocoevalcap 1.2 (the COCO caption evaluation code)."""

from __future__ import annotations

import math

import pytest

from model.apps.caption_metrics import caption_scores, cider_d, corpus_bleu, metric_tokens, ngrams


def test_tokens_are_cjk_characters_and_latin_words():
    assert metric_tokens("白色的Mug，350毫升！ Red-Dress") == \
        ["白", "色", "的", "mug", "350", "毫", "升", "red", "dress"]
    assert metric_tokens("。，！  ") == []


def test_ngram_counts():
    c = ngrams(list("abab"), 2)
    assert c[("a",)] == 2 and c[("a", "b")] == 2 and c[("b", "a")] == 1 and len(c) == 4


def test_bleu_by_hand():
    # a b c d e vs a b c d f: precisions 4/5, 3/4, 2/3, 1/2; same length, no penalty
    r = corpus_bleu([list("abcde")], [[list("abcdf")]])
    assert r.precisions == pytest.approx((4 / 5, 3 / 4, 2 / 3, 1 / 2))
    assert r.brevity_penalty == 1.0
    assert r.bleu == pytest.approx(0.2 ** 0.25)


def test_bleu_clips_counts_and_penalises_short_candidates():
    # "the the the the" against "the cat": unigram matches clipped to 1 of 4
    r = corpus_bleu([["the"] * 4], [[["the", "cat"]]], n_max=1)
    assert r.precisions == (0.25,)
    # candidate of 4 tokens, closest reference 6 tokens: BP = exp(1 - 6/4)
    r = corpus_bleu([list("abcd")], [[list("abcdef"), list("abcdefghij")]])
    assert r.reference_length == 6
    assert r.brevity_penalty == pytest.approx(math.exp(1 - 6 / 4))
    assert r.bleu == pytest.approx(math.exp(1 - 6 / 4))  # every precision is 1


def test_bleu_closest_reference_prefers_the_shorter_on_a_tie():
    r = corpus_bleu([list("abcde")], [[list("abcdefg"), list("abc")]])
    assert r.reference_length == 3  # 3 and 7 are both 2 away from 5


def test_bleu_is_zero_without_a_4gram_match():
    assert corpus_bleu([list("abcd")], [[list("dcba")]]).bleu == 0.0


def test_cider_of_one_image_is_zero_and_of_exact_distinct_captions_is_ten():
    # idf = log(N / df) is 0 for everything when there is one image
    assert cider_d([list("abcd")], [[list("abcd")]])[0] == 0.0
    score, per = cider_d([list("abcd"), list("wxyz")], [[list("abcd")], [list("wxyz")]])
    assert per == pytest.approx([10.0, 10.0]) and score == pytest.approx(10.0)


def test_cider_length_penalty_and_clipping():
    # candidate = reference + 6 unseen tokens: cosine < 1 and the Gaussian penalty
    # exp(-36/72) applies; the repeated n-grams of "aaaa" are clipped to the reference's count
    base, _ = cider_d([list("abcd"), list("wxyz")], [[list("abcd")], [list("wxyz")]])
    longer, per = cider_d([list("abcdpqrstu"), list("wxyz")], [[list("abcd")], [list("wxyz")]])
    assert per[0] < 10.0 * math.exp(-36 / 72) + 1e-9
    assert longer < base


# pycocoevalcap 1.2 on the same token lists (space-joined), Bleu(4) and Cider():
# Bleu_4 0.827155795863144, CIDEr 5.75811812458268 with per-image 7.39377168, 4.12246457
COCO_CANDS = [list("白色背景上有一个红色的圆形"), list("一只猫坐在桌子上")]
COCO_REFS = [[list("白色背景上有一个红色圆形"), list("红色的圆形在白色背景上")],
             [list("一只黑猫坐在木桌上"), list("桌子上有一只猫")]]


def test_matches_pycocoevalcap():
    assert corpus_bleu(COCO_CANDS, COCO_REFS).bleu == pytest.approx(0.827155795863144, abs=1e-9)
    score, per = cider_d(COCO_CANDS, COCO_REFS)
    assert score == pytest.approx(5.75811812458268, abs=1e-9)
    assert per == pytest.approx([7.39377168, 4.12246457], abs=1e-8)


def test_caption_scores_tokenises_strings():
    s = caption_scores(["白色背景上有一个红色的圆形。", "一只猫坐在桌子上！"],
                       [["白色背景上，有一个红色圆形", "红色的圆形在白色背景上"],
                        ["一只黑猫坐在木桌上", "桌子上有一只猫"]])
    assert s["bleu4"] == pytest.approx(0.827155795863144, abs=1e-9)
    assert s["cider_d"] == pytest.approx(5.75811812458268, abs=1e-9)
    assert s["precision1"] == 1.0


def test_mismatched_inputs_are_errors():
    with pytest.raises(ValueError, match="reference sets"):
        corpus_bleu([["a"]], [])
    with pytest.raises(ValueError, match="at least one reference"):
        cider_d([["a"], ["b"]], [[["a"]], []])
