"""corpus/stats.py: Table 1 figures per source and kind, rejected counts, a fold that merges."""

from __future__ import annotations

import json
import pickle
import random

import pytest

from corpus.stats import (
    CorpusStatsCombiner,
    add_input,
    compute_stats,
    create_accumulator,
    extract_output,
    format_table,
    from_json,
    human_bytes,
    human_count,
    merge_accumulators,
    stats_item,
    to_json,
)
from corpus.tokens import count_tokens
from schemas import ImageTextRecord, RejectedRecord, TextRecord


def _text(source: str, text: str) -> tuple[str, dict]:
    return "text", TextRecord(id=text[:8], source=source, text=text, n_chars=len(text),
                              n_tokens=count_tokens(text)).to_row()


def _pair(source: str, text: str, image_len: int) -> tuple[str, dict]:
    return "image_text", ImageTextRecord(
        id=text, source=source, text=text, image=b"\xff" * image_len, format="JPEG", width=100,
        height=60, orig_width=100, orig_height=60, sha256="0" * 64, n_chars=len(text),
        n_tokens=count_tokens(text)).to_row()


def _rejected(source: str, stage: str, reason: str) -> tuple[str, dict]:
    return "rejected", RejectedRecord(id="r", source=source, kind="text", stage=stage,
                                      reason=reason, text="x").to_row()


ELEMENTS = [
    _text("forum", "还没有收到书！还没有收到书111"),  # 12 CJK + 1 digit run = 13 tokens, 16 chars
    _text("forum", "前台check in 花了20分钟"),  # 6 CJK + 2 words + 1 digit run = 9 tokens, 17 chars
    _text("encyclopedia", "长城是中国古代的军事防御工程。"),  # 14 tokens, 15 chars, 45 bytes
    _pair("ecommerce", "红色连衣裙", 20_000),
    _pair("ecommerce", "蓝色T恤", 5_000),  # 3 CJK + 1 word
    _rejected("forum", "clean.length", "text_too_short"),
    _rejected("forum", "clean.length", "text_too_short"),
    _rejected("common_crawl", "clean.length", "text_too_short"),
    _rejected("common_crawl", "clean.language", "not_chinese"),
]


def test_figures_per_kind_and_source():
    stats = compute_stats(ELEMENTS)
    by = {(o["kind"], o["source"]): o for o in stats["outputs"]}
    assert list(by) == [("text", "encyclopedia"), ("text", "forum"), ("image_text", "ecommerce")]
    forum = by[("text", "forum")]
    assert (forum["passages"], forum["tokens"], forum["chars"]) == (2, 22, 16 + 17)
    assert forum["text_bytes"] == len("还没有收到书！还没有收到书111".encode()) + len(
        "前台check in 花了20分钟".encode())
    assert forum["avg_length"] == 11.0 and forum["images"] == 0
    enc = by[("text", "encyclopedia")]
    assert (enc["tokens"], enc["chars"], enc["text_bytes"]) == (14, 15, 45)
    shop = by[("image_text", "ecommerce")]
    assert (shop["passages"], shop["images"], shop["image_bytes"], shop["tokens"]) == \
        (2, 2, 25_000, 5 + 4)
    assert stats["totals"]["text"]["passages"] == 3
    assert stats["totals"]["all"]["tokens"] == 22 + 14 + 9
    assert stats["totals"]["all"]["avg_length"] == 9.0


def test_rejected_per_stage_reason_and_source():
    stats = compute_stats(ELEMENTS)
    assert stats["rejected"] == [
        {"stage": "clean.language", "reason": "not_chinese", "count": 1,
         "by_source": {"common_crawl": 1}},
        {"stage": "clean.length", "reason": "text_too_short", "count": 3,
         "by_source": {"forum": 2, "common_crawl": 1}},
    ]
    assert stats["rejected_total"] == 4
    assert stats["rejected_by_source"] == {"forum": 2, "common_crawl": 2}


def test_any_partition_and_merge_order_gives_the_same_result():
    expected = compute_stats(ELEMENTS)
    rng = random.Random(7)
    for _ in range(20):
        parts = [create_accumulator() for _ in range(rng.randint(1, 4))]
        for element in ELEMENTS:
            add_input(rng.choice(parts), element)
        rng.shuffle(parts)
        half = len(parts) // 2
        merged = merge_accumulators([merge_accumulators(parts[:half]),
                                     merge_accumulators(parts[half:])])
        assert extract_output(merged) == expected


def test_merge_does_not_modify_its_inputs():
    a, b = create_accumulator(), create_accumulator()
    add_input(a, ELEMENTS[0])
    add_input(b, ELEMENTS[0])
    before = pickle.dumps(a)
    merge_accumulators([a, b])
    assert pickle.dumps(a) == before


def test_projected_items_count_like_full_rows():
    projected = [stats_item(kind, row) for kind, row in ELEMENTS]
    assert all("image" not in row and "text" not in row for _, row in projected)
    assert compute_stats(projected) == compute_stats(ELEMENTS)


def test_combiner_methods_and_pickling():
    fn = pickle.loads(pickle.dumps(CorpusStatsCombiner()))
    acc = fn.create_accumulator()
    for element in ELEMENTS:
        acc = fn.add_input(acc, element)
    acc = pickle.loads(pickle.dumps(acc))
    assert fn.extract_output(fn.merge_accumulators([acc, fn.create_accumulator()])) \
        == compute_stats(ELEMENTS)


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown kind 'images'"):
        add_input(create_accumulator(), ("images", {"source": "forum"}))


def test_json_round_trip():
    stats = compute_stats(ELEMENTS)
    text = to_json(stats)
    assert "Plain-text" in text and from_json(text) == stats
    assert json.loads(text)["format"] == "m6.stats"
    with pytest.raises(ValueError, match="not an m6 statistics file"):
        from_json('{"outputs": []}')


def test_human_units():
    assert [human_count(n) for n in (0, 999, 1_000, 34_000_000, 31_400_000_000)] == \
        ["0", "999", "1.0K", "34.0M", "31.4B"]
    assert [human_bytes(n) for n in (12, 1_500, 65_100_000_000, 1_500_000_000_000)] == \
        ["12 B", "1.5 KB", "65.1 GB", "1.5 TB"]


def test_format_table():
    assert format_table(compute_stats(ELEMENTS)) == """\
Corpus statistics (cf. M6 paper, Table 1)
Source            Modality      Images  Tokens  Passages  Avg. Length  Image Size  Text Size
----------------  ------------  ------  ------  --------  -----------  ----------  ---------
Encyclopedia      Plain-text         -      14         1         14.0           -       45 B
Forum discussion  Plain-text         -      22         2         11.0           -       71 B
E-commerce        Image & Text       2       9         2          4.5     25.0 KB       25 B
----------------  ------------  ------  ------  --------  -----------  ----------  ---------
Total             -                  2      45         5          9.0     25.0 KB      141 B

Rejected: 4 records
Stage           Reason          Count   Share  forum  common_crawl
--------------  --------------  -----  ------  -----  ------------
clean.language  not_chinese         1   25.0%      -             1
clean.length    text_too_short      3   75.0%      2             1
--------------  --------------  -----  ------  -----  ------------
Total                               4  100.0%      2             2
"""


def test_format_table_of_nothing():
    assert format_table(compute_stats([])) == (
        "Corpus statistics (cf. M6 paper, Table 1)\n(no text or image-text rows)\n\n"
        "Rejected: 0 records\n")


def test_pairs_by_language_of_their_text():
    elements = [*ELEMENTS, _pair("webpage", "Output of ls -l in long format", 100),
                _pair("webpage", "东京 タワー photo shot", 100)]  # 2 CJK, 2 words, 3 kana: mixed
    stats = compute_stats(elements)
    assert stats["pair_languages"] == {"zh": {"pairs": 2, "share": 0.5},
                                       "en": {"pairs": 1, "share": 0.25},
                                       "mixed": {"pairs": 1, "share": 0.25}}
    # projected items and any merge order give the same counts
    accs = []
    for e in reversed(elements):
        acc = create_accumulator()
        add_input(acc, stats_item(*e))
        accs.append(acc)
    assert extract_output(merge_accumulators(accs))["pair_languages"] == stats["pair_languages"]
    assert compute_stats(ELEMENTS[:3])["pair_languages"] == {}
