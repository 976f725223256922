"""Candidate pairs from a bucket: sorted, verified, linear for giant buckets; exact Jaccard."""

from __future__ import annotations

import random

import numpy as np

from corpus.dedup.buckets import bucket_pairs, exact_jaccard, jaccard, shingle_set


def sig(values) -> np.ndarray:
    return np.array(values, dtype=np.uint32)


def test_pairs_are_sorted_and_verified_by_signature():
    members = [("k3", sig([1, 2, 3, 4])), ("k1", sig([1, 2, 3, 9])), ("k2", sig([7, 7, 7, 7]))]
    edges = list(bucket_pairs(members, threshold=0.7, verify="signature", max_pairs=64))
    assert edges == [("k1", "k3", 0.75)]
    assert list(bucket_pairs(members[::-1], threshold=0.7, verify="signature",
                             max_pairs=64)) == edges
    everything = bucket_pairs(members, threshold=0.7, verify="none", max_pairs=64)
    assert sorted((a, b) for a, b, _ in everything) == [("k1", "k2"), ("k1", "k3"),
                                                         ("k2", "k3")]


def test_exact_mode_prefilters_hopeless_pairs():
    members = [("a", sig([1, 2, 3, 4, 5])), ("b", sig([1, 2, 3, 0, 0])),
               ("c", sig([1, 0, 0, 9, 9]))]
    # estimates: a-b 0.6, a-c 0.2, b-c 0.2; floor 0.8 - 0.2 = 0.6
    edges = list(bucket_pairs(members, threshold=0.8, verify="exact", max_pairs=64))
    assert [(a, b) for a, b, _ in edges] == [("a", "b")]


def test_giant_bucket_compares_against_anchors_only():
    members = [(f"k{i:03d}", sig([1, 1])) for i in range(100)]
    random.Random(0).shuffle(members)
    edges = list(bucket_pairs(members, threshold=0.5, verify="signature", max_pairs=3))
    assert len(edges) == 99 + 98 + 97  # 3 anchors x later members, not 100*99/2
    assert {a for a, _, _ in edges} == {"k000", "k001", "k002"}


def test_members_are_read_twice_and_never_copied():
    class Twice:
        """An iterable that can be read exactly twice, like a big Beam group."""

        def __init__(self, items):
            self.items, self.reads = items, 0

        def __iter__(self):
            self.reads += 1
            assert self.reads <= 2, "bucket_pairs read the group a third time"
            return iter(self.items)

    group = Twice([("b", sig([1, 2])), ("a", sig([1, 2])), ("c", sig([1, 3]))])
    edges = sorted(bucket_pairs(group, threshold=0.5, verify="signature", max_pairs=64))
    assert edges == [("a", "b", 1.0), ("a", "c", 0.5), ("b", "c", 0.5)]


def test_single_member_and_repeated_member_give_nothing():
    assert list(bucket_pairs([("a", sig([1]))], threshold=0.5, verify="none",
                             max_pairs=8)) == []
    assert list(bucket_pairs([("a", sig([1])), ("a", sig([1]))], threshold=0.5, verify="none",
                             max_pairs=8)) == []


def test_exact_jaccard_on_real_text(reviews):
    text = reviews[1]
    assert exact_jaccard(text, text, 3) == 1.0
    assert exact_jaccard(text, text.replace("，", " "), 3) == 1.0  # punctuation insensitive
    a, b = shingle_set(text, 3), shingle_set(text + "真的很好", 3)
    assert jaccard(a, b) == len(a) / len(b)
    assert jaccard(set(), set()) == 0.0


def test_normal_jaccard_equals_the_string_set_jaccard(reviews):
    from corpus.dedup.buckets import normal_jaccard, packed_shingles
    from corpus.dedup.edits import near_copy
    from corpus.dedup.normalise import normalise_text

    rng = random.Random(11)
    normals = [normalise_text(r) for r in reviews[:80]] + ["好", "好书", "好书啊", "𠀀𠀁𠀂"]
    normals += [normalise_text(near_copy(t, rng, rate=0.05).text) for t in normals[:40]]
    pairs = [(k, 84 + k) for k in range(40)]  # each review and its near copy
    pairs += [(i, (i * 7 + 3) % len(normals)) for i in range(len(normals))]
    similar = 0
    for n in (1, 2, 3, 5):
        for i, j in pairs:
            a, b = normals[i], normals[j]
            want = jaccard(shingle_set(a, n, normalised=True), shingle_set(b, n, normalised=True))
            assert normal_jaccard(a, b, n) == want, (n, a, b)
            similar += 0.5 < want < 1
    assert similar >= 100
    assert packed_shingles("好书", 3) is None and packed_shingles("abcd", 4) is None
    assert packed_shingles("ababa", 2).tolist() == sorted({(97 << 21) | 98, (98 << 21) | 97})
