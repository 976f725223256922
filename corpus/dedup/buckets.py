"""Candidate pairs from one LSH bucket, and their verification.

A bucket holds the documents whose signatures agree on one band. Every pair in it is a candidate;
``bucket_pairs`` turns a bucket into edges of the duplicate graph:

* members are sorted by ``node_key`` (the survivor order), so the output is the same whatever
  order a runner delivered them in;
* a bucket of up to ``max_pairs`` members compares every pair; a larger bucket (thousands of
  pages sharing a template) compares each member with the first ``max_pairs`` members only, so the
  work stays linear in the bucket size. Two members that only match each other and neither of the
  anchors can then be missed in that bucket (they usually meet in another band);
* ``verify = "signature"`` keeps a pair when the signature estimate of its Jaccard similarity
  (fraction of equal positions) reaches the threshold; ``"exact"`` keeps pairs whose estimate is
  within ``EXACT_PREFILTER`` of it, for ``exact_jaccard`` on the texts later; ``"none"`` keeps
  every candidate (plain LSH).

Each edge carries the signature estimate, which the rejected row reports as its ``score``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from corpus.dedup.minhash import shingles
from corpus.dedup.normalise import normalise_text

# Signature estimates lower than threshold - EXACT_PREFILTER are not sent to exact verification:
# with 128 permutations the estimate's standard deviation is at most 0.044, so 0.2 is 4.5 sigma.
EXACT_PREFILTER = 0.2

Edge = tuple[str, str, float]


def bucket_pairs(members: Iterable[tuple[str, np.ndarray]], *, threshold: float, verify: str,
                 max_pairs: int) -> list[Edge]:
    """Edges (smaller key, larger key, estimated Jaccard) among the members of one bucket."""
    by_key: dict[str, np.ndarray] = {}
    for key, sig in members:
        by_key.setdefault(key, sig)
    if len(by_key) < 2:
        return []
    keys = sorted(by_key)
    sigs = np.stack([np.asarray(by_key[k]) for k in keys])
    floor = {"signature": threshold, "exact": threshold - EXACT_PREFILTER, "none": -1.0}[verify]
    floor -= 1e-9  # 0.8 - 0.2 is 0.6000000000000001 in floating point
    edges: list[Edge] = []
    n = len(keys)
    anchors = min(n, max_pairs)  # all pairs when n <= max_pairs
    for i in range(anchors):
        others = np.arange(i + 1, n)
        if len(others) == 0:
            break
        est = (sigs[others] == sigs[i]).mean(axis=1)
        for j, e in zip(others[est >= floor].tolist(), est[est >= floor].tolist()):
            edges.append((keys[i], keys[j], float(e)))
    return edges


def shingle_set(text: str, ngram: int, *, normalised: bool = False) -> set[str]:
    """The set of character n-grams of a text, as MinHash sees them."""
    return set(shingles(text if normalised else normalise_text(text), ngram))


def jaccard(a: set, b: set) -> float:
    """|a & b| / |a | b|, and 0 for two empty sets."""
    if not a and not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def exact_jaccard(text_a: str, text_b: str, ngram: int) -> float:
    """The Jaccard similarity of the n-gram sets of two (raw) texts."""
    return jaccard(shingle_set(text_a, ngram), shingle_set(text_b, ngram))
