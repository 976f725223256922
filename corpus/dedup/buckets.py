"""Candidate pairs from one LSH bucket, and their verification.

A bucket holds the documents whose signatures agree on one band. Every pair in it is a candidate;
``bucket_pairs`` turns a bucket into edges of the duplicate graph:

* the anchors of a bucket are its ``max_pairs`` members with the smallest ``node_key`` (the
  survivor order), so the output is the same whatever order a runner delivered them in;
* a bucket of up to ``max_pairs`` members compares every pair; a larger bucket (thousands of
  pages sharing a template) compares each member with the anchors only, so the work stays linear
  in the bucket size and the memory bounded by ``max_pairs``. Two members that only match each
  other and neither of the anchors can then be missed in that bucket (they usually meet in
  another band);
* ``verify = "signature"`` keeps a pair when the signature estimate of its Jaccard similarity
  (fraction of equal positions) reaches the threshold; ``"exact"`` keeps pairs whose estimate is
  within ``EXACT_PREFILTER`` of it, for ``exact_jaccard`` on the texts later; ``"none"`` keeps
  every candidate (plain LSH).

Each edge carries the signature estimate, which the rejected row reports as its ``score``.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from corpus.codepoints import code_points
from corpus.dedup.minhash import shingles
from corpus.dedup.normalise import normalise_text

# Signature estimates lower than threshold - EXACT_PREFILTER are not sent to exact verification:
# with 128 permutations the estimate's standard deviation is at most 0.044, so 0.2 is 4.5 sigma.
EXACT_PREFILTER = 0.2

Edge = tuple[str, str, float]


def anchors_of(members: Iterable[tuple[str, Any]], max_pairs: int) -> list[tuple[str, Any]]:
    """The ``max_pairs`` members with the smallest keys, sorted, one per key (one pass)."""
    smallest = heapq.nsmallest(max_pairs, members, key=lambda m: m[0])
    out: list[tuple[str, Any]] = []
    for m in smallest:
        if not out or out[-1][0] != m[0]:
            out.append(m)
    return out


def estimate_floor(threshold: float, verify: str) -> float:
    """The lowest signature estimate a candidate may have to become an edge (or be verified)."""
    floor = {"signature": threshold, "exact": threshold - EXACT_PREFILTER, "none": -1.0}[verify]
    return floor - 1e-9  # 0.8 - 0.2 is 0.6000000000000001 in floating point


def bucket_pairs(members: Iterable[tuple[str, np.ndarray]], *, threshold: float, verify: str,
                 max_pairs: int) -> Iterator[Edge]:
    """Edges (smaller key, larger key, estimated Jaccard) among the members of one bucket.

    ``members`` is read twice and never copied (a Beam group's iterable can be larger than a
    worker's memory): once for the anchors, once to compare every member with the anchors whose
    key is smaller than its own. A bucket of at most ``max_pairs`` members is all anchors, so
    every pair is compared once; a larger one costs ``max_pairs`` comparisons per member."""
    anchors = anchors_of(members, max_pairs)
    if len(anchors) < 2:
        return
    keys = [k for k, _ in anchors]
    sigs = np.stack([np.asarray(s) for _, s in anchors])
    floor = estimate_floor(threshold, verify)
    for key, sig in members:
        below = bisect.bisect_left(keys, key)
        if below == 0:
            continue
        est = (sigs[:below] == np.asarray(sig)).mean(axis=1)
        for i in np.flatnonzero(est >= floor).tolist():
            yield (keys[i], key, float(est[i]))


def shingle_set(text: str, ngram: int, *, normalised: bool = False) -> set[str]:
    """The set of character n-grams of a text, as MinHash sees them."""
    return set(shingles(text if normalised else normalise_text(text), ngram))


def jaccard(a: set, b: set) -> float:
    """|a & b| / |a | b|, and 0 for two empty sets."""
    if not a and not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def packed_shingles(normal: str, ngram: int) -> np.ndarray | None:
    """The distinct n-grams of a normalised text as sorted uint64 (21 bits per code point), or
    None where that is not the same set as ``shingle_set``: n-grams longer than 3 characters, or
    a text shorter than one n-gram (its single shingle is the whole text). Packing is
    one-to-one, so set sizes and intersections, hence Jaccard values, are exactly those of the
    string sets; it avoids building one Python string per n-gram."""
    if ngram > 3 or len(normal) < ngram:
        return None
    cps = code_points(normal).astype(np.uint64)
    count = len(cps) - ngram + 1
    packed = cps[:count].copy()
    for j in range(1, ngram):
        packed = (packed << np.uint64(21)) | cps[j:j + count]
    return np.unique(packed)


def normal_jaccard(normal_a: str, normal_b: str, ngram: int,
                   packed_a: np.ndarray | None = None, packed_b: np.ndarray | None = None
                   ) -> float:
    """``jaccard(shingle_set(a), shingle_set(b))`` of two normalised texts, the same value,
    computed on packed n-grams where ``packed_shingles`` allows. ``packed_a``, ``packed_b``:
    ``packed_shingles`` of the texts, when the caller has them (a text checked against many)."""
    a = packed_shingles(normal_a, ngram) if packed_a is None else packed_a
    b = packed_shingles(normal_b, ngram) if packed_b is None else packed_b
    if a is None or b is None:
        return jaccard(shingle_set(normal_a, ngram, normalised=True),
                       shingle_set(normal_b, ngram, normalised=True))
    inter = sorted_intersection_size(a, b)
    return inter / (len(a) + len(b) - inter)


def sorted_intersection_size(a: np.ndarray, b: np.ndarray) -> int:
    """``len(np.intersect1d(a, b))`` of two sorted arrays of distinct values, by binary search of
    the smaller in the larger: no concatenation and no sort (3-4x faster on page-sized texts)."""
    if len(a) > len(b):
        a, b = b, a
    if not len(a):
        return 0
    at = np.searchsorted(b, a)
    at[at == len(b)] = 0
    return int(np.count_nonzero(b[at] == a))


def exact_jaccard(text_a: str, text_b: str, ngram: int) -> float:
    """The Jaccard similarity of the n-gram sets of two (raw) texts."""
    return jaccard(shingle_set(text_a, ngram), shingle_set(text_b, ngram))
