"""Vertices order documents exactly as member_order does, records resolve to the survivors and
rows of local.group_step, and a batch's verdicts become the rows local.dedup_text gives."""

from __future__ import annotations

import random

import pytest

from corpus.dedup.config import DedupConfig
from corpus.dedup.local import dedup_text, exact_key, group_step, keyed
from corpus.dedup.normalise import normalise_text, text_hash
from corpus.dedup.packed import pack
from corpus.dedup.survivor import id_of, member_order, node_key
from corpus.dedup.vertices import (
    apply_verdicts,
    batch_of,
    by_batch,
    exact_key_of,
    node_of,
    partition,
    rank_group,
    rank_of,
    resolve,
    vertex,
    vertex_id,
)
from corpus.document import Document
from schemas import make_id


def test_a_vertex_holds_its_node_rank_and_batch():
    node = node_key(make_id("forum", "a"), "forum")
    v = vertex(node, 3, "1000batch")
    assert (node_of(v), rank_of(v), batch_of(v), vertex_id(v)) == (node, 3, "1000batch",
                                                                   id_of(node))


def test_vertex_order_is_member_order_for_the_same_id_and_for_prefixes():
    """Documents with one id are ranked by text, URL, file, offset; comparing vertices as strings
    then compares (node, rank), whatever the batch, also when one node is a prefix of another."""
    rng = random.Random(1)
    same = [Document(id="ab", source="forum", text=t, url=u, input_file=f, offset=o)
            for t, u, f, o in [("乙", None, "f", 1), ("甲", "http://x", "f", 2),
                               ("甲", "http://x", "e", 9), ("甲", None, None, None)]]
    node = node_key("ab", "forum")
    ranked = rank_group((node, [pack(d) for d in rng.sample(same, len(same))]))[1]
    assert ranked == [pack(d) for d in sorted(same, key=lambda d: member_order((node, d)))]
    short, long_ = node_key("ab", "forum"), node_key("abc", "forum")
    vs = [vertex(long_, 0, "1z"), vertex(short, 10, "1a"), vertex(short, 2, "1zz")]
    assert sorted(vs) == [vertex(short, 2, "1zz"), vertex(short, 10, "1a"),
                          vertex(long_, 0, "1z")]


def test_resolve_matches_group_step(reviews):
    """Exact groups on real reviews and copies of 40 of them differing in punctuation and
    spacing: the same survivors and rows."""
    cfg = DedupConfig()
    texts = reviews[:300] + [" " + t + "！" for t in reviews[:40]]
    docs = [Document(id=make_id("forum", f"r:{i}"), source="forum", text=t)
            for i, t in enumerate(texts)]
    items = keyed(docs, cfg)
    kept, rows = group_step(items, exact_key, "exact_duplicate")
    assert len(rows) >= 40
    records = [(vertex(k, 0, f"b{i % 7}"), None, exact_key_of(normalise_text(d.text)), b"")
               for i, (k, d) in enumerate(items)]
    survivors, verdicts = resolve(records, 2, "exact_duplicate")
    assert sorted(vertex_id(r[0]) for r in survivors) == sorted(d.id for _, d in kept)
    assert sorted((vertex_id(v), reason, dup) for v, reason, dup, _ in verdicts) == sorted(
        (r.id, r.reason, r.duplicate_of) for r in rows)
    assert all(r[2] == text_hash(d.text) for r, (_, d) in zip(records, items))
    routed = dict(by_batch(verdicts))
    assert sum(len(v) for v in routed.values()) == len(verdicts)
    assert all(batch_of(v[0]) == b for b, vs in routed.items() for v in vs)
    assert {partition(r[2], 64) for r in records} <= set(range(64))
    assert partition("京", 64) == partition("京", 64)


def test_apply_verdicts_gives_the_rows_of_the_reference():
    """A batch with a URL loser, a near duplicate, the same id twice reaching the near step, and a
    document of an earlier corpus: the rows local.dedup_text gives for the same decisions."""
    cfg = DedupConfig()
    a = Document(id=make_id("forum", "a"), source="forum", text="今天天气很好，我们去公园散步吧")
    b = a.replace(id=make_id("forum", "b"), text=a.text + "。")
    twin1 = Document(id=make_id("forum", "t"), source="forum", text="这家酒店的早餐非常丰富")
    twin2 = twin1.replace(text="房间干净，服务热情，下次还来")
    old = Document(id=make_id("forum", "o"), source="forum", text="旧的")
    na, nb, nt = (node_key(d.id, d.source) for d in (a, b, twin1))
    no = node_key(old.id, old.source, existing=True)
    ranked = rank_group((nt, [pack(twin2), pack(twin1)]))[1]
    docs = [(vertex(nb, 0, "B"), pack(b)), (vertex(na, 0, "B"), pack(a)),
            (vertex(nt, 0, "B"), ranked[0]), (vertex(nt, 1, "B"), ranked[1]),
            (vertex(no, 0, "B"), pack(old))]
    verdicts = [(vertex(nb, 0, "B"), "url_duplicate", id_of(na), None)]
    kept, rows, near = apply_verdicts(docs, verdicts, [(vertex(na, 0, "B"), vertex(no, 0, "C"),
                                                        0.875)])
    assert kept == [twin1 if twin1.text < twin2.text else twin2]
    assert near == 1
    got = sorted((r.id, r.reason, r.duplicate_of, r.score, r.text) for r in rows)
    assert got == sorted([(b.id, "url_duplicate", a.id, None, b.text),
                          (a.id, "near_duplicate", old.id, 0.875, a.text),
                          (twin1.id, "duplicate_id", twin1.id, None, max(twin1.text, twin2.text))])
    kept2, rows2, _ = apply_verdicts(docs, verdicts, None)  # no near-duplicate step
    assert len(kept2) == 3 and len(rows2) == 1
    assert dedup_text([a, twin1, twin2], cfg)[1][0].reason == "duplicate_id"


@pytest.mark.parametrize("rank", [0, 99_999_999])
def test_rank_is_fixed_width(rank):
    v = vertex("1000x", rank, "b")
    assert rank_of(v) == rank and batch_of(v) == "b"
