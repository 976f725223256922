"""Text dedup in memory on real reviews: URL, exact and near duplicates removed with the right
reasons and survivors; an earlier corpus wins; results match brute-force exact Jaccard."""

from __future__ import annotations

import itertools
import pickle
import random
from collections import Counter

import pytest

from corpus.dedup.buckets import exact_jaccard
from corpus.dedup.components import components_by_union_find
from corpus.dedup.config import DedupConfig, MinhashConfig
from corpus.dedup.edits import near_copy
from corpus.dedup.local import dedup_text, near_duplicates
from corpus.dedup.normalise import normalise_text
from corpus.document import Document
from schemas import make_id


def mkdoc(i: int, text: str, url: str | None = None, source: str = "forum") -> Document:
    return Document(id=make_id(source, f"t:{i}"), source=source, text=text, url=url)


@pytest.fixture(scope="module")
def unique_reviews(reviews):
    seen, out = set(), []
    for r in reviews:
        n = normalise_text(r)
        if len(n) >= 40 and n not in seen:
            seen.add(n)
            out.append(r)
    return out


def test_each_kind_of_duplicate_gets_its_reason(unique_reviews):
    a, b, c = unique_reviews[:3]
    docs = [
        mkdoc(0, a, "http://shop.example.com/r/1"),
        mkdoc(1, b, "https://www.shop.example.com/r/1/?utm_source=feed"),  # same page
        mkdoc(2, a.replace("，", " , ") + "\n"),  # exact after normalisation
        mkdoc(3, a[:20] + "真" + a[20:]),  # near: one inserted character
        mkdoc(4, c),
    ]
    kept, rejected = dedup_text(docs, DedupConfig())
    url_survivor = min(docs[:2], key=lambda d: d.id)
    by_id = {r.id: r for r in rejected}
    assert Counter(r.reason for r in rejected) == Counter(
        {"url_duplicate": 1, "exact_duplicate": 1, "near_duplicate": 1})
    assert {d.id for d in kept} | set(by_id) == {d.id for d in docs}
    (url_rej,) = [r for r in rejected if r.reason == "url_duplicate"]
    assert url_rej.duplicate_of == url_survivor.id and url_rej.stage == "dedup"
    (near,) = [r for r in rejected if r.reason == "near_duplicate"]
    kept_ids = {d.id for d in kept}
    # the inserted-character copy and the survivor of text a: the smaller id stays
    assert {near.id, near.duplicate_of} <= {docs[0].id, docs[2].id, docs[3].id}
    assert near.duplicate_of in kept_ids and near.duplicate_of < near.id
    assert 0.8 <= near.score < 1.0
    assert docs[4].id in kept_ids


def test_near_copies_are_removed_and_unrelated_kept(unique_reviews):
    rng = random.Random(3)
    originals = unique_reviews[:60]
    copies = [near_copy(t, rng, rate=0.01, punct=True) for t in originals[:30]]
    docs = [mkdoc(i, t) for i, t in enumerate(originals)]
    docs += [mkdoc(100 + i, c.text) for i, c in enumerate(copies)]
    kept, rejected = dedup_text(docs, DedupConfig())
    # every rejected copy is tied to its own original, and every pair it was tied by is >= 0.8
    text_of = {d.id: d.text for d in docs}
    for r in rejected:
        assert r.reason in ("near_duplicate", "exact_duplicate")
        assert exact_jaccard(text_of[r.id], text_of[r.duplicate_of], 3) >= 0.8 or \
            r.reason == "exact_duplicate"
    assert len(rejected) >= 28  # 30 copies at 1% edits: J >= 0.8 for (nearly) all
    kept_ids = {d.id for d in kept}
    assert all(d.id in kept_ids for d in docs[30:60])  # originals without copies


def test_matches_brute_force_exact_jaccard(unique_reviews):
    rng = random.Random(11)
    texts = unique_reviews[:80]
    texts += [near_copy(t, rng, rate=rng.uniform(0, 0.05), punct=rng.random() < 0.5).text
              for t in unique_reviews[:40]]
    keys = [f"1000{i:04d}" for i in range(len(texts))]
    items = [(k, normalise_text(t)) for k, t in zip(keys, texts)]
    truth = {(a, b) for (a, ta), (b, tb) in itertools.combinations(items, 2)
             if exact_jaccard(ta, tb, 3) >= 0.8}
    found = near_duplicates(items, DedupConfig())
    assert set(found.edges) <= truth  # exact verification: no false positives
    assert len(set(found.edges) & truth) >= 0.95 * len(truth)
    assert len(truth) >= 30  # the edits do straddle the threshold: a test that can fail
    assert found.label == {k: v for k, v in components_by_union_find(found.edges).items()}


def test_dedup_against_an_earlier_corpus(unique_reviews):
    old = [mkdoc(i, t) for i, t in enumerate(unique_reviews[:5])]
    new = [mkdoc(50, unique_reviews[0] + "！"),  # exact copy of old[0]
           mkdoc(51, unique_reviews[1][:30] + "很" + unique_reviews[1][30:]),  # near old[1]
           mkdoc(52, unique_reviews[10]),  # new
           old[2]]  # the very same record again
    kept, rejected = dedup_text(new, DedupConfig(), existing=old)
    assert [d.id for d in kept] == [new[2].id]
    got = {(r.id, r.reason, r.duplicate_of) for r in rejected}
    assert (new[0].id, "exact_duplicate", old[0].id) in got
    assert (new[1].id, "near_duplicate", old[1].id) in got
    assert (old[2].id, "exact_duplicate", old[2].id) in got
    assert len(rejected) == 3  # earlier documents are never rejected or output


def test_switches_and_sharding_independence(unique_reviews):
    docs = [mkdoc(i, t) for i, t in enumerate(unique_reviews[:20])]
    docs.append(mkdoc(99, unique_reviews[0]))
    cfg = DedupConfig(exact=False, near=False, url=False)
    assert len(dedup_text(docs, cfg)[0]) == 21
    kept1, rej1 = dedup_text(docs, DedupConfig())
    kept2, rej2 = dedup_text(list(reversed(docs)), DedupConfig())
    assert [d.id for d in kept1] == [d.id for d in kept2] and rej1 == rej2


def test_config_validates_and_pickles():
    with pytest.raises(ValueError, match="threshold"):
        DedupConfig(threshold=1.5)
    with pytest.raises(ValueError, match="ngram"):
        MinhashConfig(ngram=0)
    with pytest.raises(ValueError, match="scheme"):
        MinhashConfig(scheme="legacy")
    with pytest.raises(ValueError, match="verify"):
        DedupConfig(verify="maybe")
    cfg = DedupConfig(threshold=0.7, source_priority=("encyclopedia",))
    assert pickle.loads(pickle.dumps(cfg)) == cfg
