"""The survivor rule: earlier corpus first, then source priority, then larger preference, then
the first position in the input, then the smallest id; independent of arrival order."""

from __future__ import annotations

import itertools

from corpus.dedup.survivor import (
    LAST,
    file_ranks,
    id_of,
    is_existing,
    node_key,
    placed,
    position,
    rejections,
    split_group,
)
from corpus.document import Document


def doc(i: str, source: str = "forum", text: str = "同一段文字") -> Document:
    return Document(id=i, source=source, text=text)


def test_smallest_id_wins_in_any_order():
    members = [(node_key(d.id, d.source), d) for d in (doc("c3"), doc("a1"), doc("b2"))]
    for perm in itertools.permutations(members):
        survivor, losers = split_group(perm)
        assert survivor[1].id == "a1" and [m[1].id for m in losers] == ["b2", "c3"]


def test_existing_then_source_priority_then_id():
    prio = ("encyclopedia", "community_qa")
    new_encyc = node_key("ffff", "encyclopedia", source_priority=prio)
    new_forum = node_key("0000", "forum", source_priority=prio)
    old_forum = node_key("9999", "forum", existing=True, source_priority=prio)
    assert sorted([new_forum, new_encyc, old_forum]) == [old_forum, new_encyc, new_forum]
    assert is_existing(old_forum) and not is_existing(new_forum)
    assert id_of(new_encyc) == "ffff"


def test_larger_preference_wins():
    small = node_key("aaaa", "webpage", prefer=100 * 100)
    large = node_key("bbbb", "webpage", prefer=800 * 600)
    assert large < small and id_of(large) == "bbbb"


def test_rejections_name_the_survivor_and_skip_existing_losers():
    survivor = node_key("a", "forum", existing=True)
    losers = [(node_key("b", "forum"), doc("b")), (node_key("c", "forum", existing=True), doc("c"))]
    rows = list(rejections(losers, survivor, "exact_duplicate"))
    assert [(r.id, r.stage, r.reason, r.duplicate_of) for r in rows] == [
        ("b", "dedup", "exact_duplicate", "a")]


def test_equal_keys_break_on_text():
    a, b = doc("x", text="乙"), doc("x", text="甲")
    k = node_key("x", "forum")
    assert split_group([(k, a), (k, b)])[0][1].text == min("乙", "甲")
    assert split_group([(k, b), (k, a)])[0][1].text == min("乙", "甲")


def test_the_first_position_in_the_plan_wins_before_the_id():
    ranks = file_ranks(["b.warc.gz", "a.warc.gz", "b.warc.gz"])  # plan order, once each
    assert ranks == {"b.warc.gz": 0, "a.warc.gz": 1}
    first = placed(node_key("ffff", "forum"), position(ranks, "b.warc.gz", 5_000_000))
    later_file = placed(node_key("0000", "forum"), position(ranks, "a.warc.gz", 0))
    later_offset = placed(node_key("0001", "forum"), position(ranks, "b.warc.gz", 5_000_001))
    unknown = node_key("0002", "forum")  # not in the plan: last
    assert sorted([unknown, later_offset, later_file, first]) == [
        first, later_offset, later_file, unknown]
    assert [id_of(k) for k in (first, later_file, unknown)] == ["ffff", "0000", "0002"]
    assert position(ranks, "elsewhere.warc.gz", 0) == LAST == position(ranks, None, 3)
    # offsets compare as numbers, not as digits
    assert position(ranks, "a.warc.gz", 9) < position(ranks, "a.warc.gz", 10)
    # the source priority and an earlier corpus still come first
    ranked = ("encyclopedia",)
    prio = placed(node_key("9999", "encyclopedia", source_priority=ranked), LAST)
    assert prio < placed(node_key("ffff", "forum", source_priority=ranked),
                         position(ranks, "b.warc.gz", 0))
    old = node_key("9999", "forum", existing=True)
    assert placed(old, position(ranks, "b.warc.gz", 0)) == old < first
