"""Buckets found per partition of band keys equal the buckets of a shuffle keyed by band key."""

from __future__ import annotations

import random

import numpy as np
import pytest

from corpus.dedup.config import DedupConfig
from corpus.dedup.edits import near_copy
from corpus.dedup.local import candidate_edges
from corpus.dedup.lsh import band_keys
from corpus.dedup.minhash import minhasher
from corpus.dedup.normalise import normalise_text
from corpus.dedup.partitions import (
    band_hashes,
    candidate_pairs,
    chunks,
    partition_of,
    partition_pairs,
)


@pytest.fixture(scope="module")
def items(reviews) -> list[tuple[str, str]]:
    """(node key, normal text): 300 real reviews, near copies of 60 of them and two more copies
    of one (buckets of two and of four), shuffled."""
    rng = random.Random(5)
    texts = [r for r in reviews if len(normalise_text(r)) >= 30][:300]
    texts += [near_copy(t, rng, rate=0.02).text for t in texts[:60]] + [texts[0], texts[0]]
    rng.shuffle(texts)
    return [(f"1000{i:012d}", normalise_text(t)) for i, t in enumerate(texts)]


def signatures(items, cfg):
    return minhasher(cfg.minhash).signatures([t for _, t in items], normalised=True)


def test_band_hashes_are_equal_exactly_when_the_band_keys_are(items):
    cfg = DedupConfig()
    bands, rows = cfg.lsh_shape()
    sigs = signatures(items, cfg)
    hashes = band_hashes(sigs, bands, rows)
    keys = [k for s in sigs for k in band_keys(s, bands, rows)]
    assert hashes.dtype == np.uint64 and len(hashes) == len(keys) == len(items) * bands
    # the near copies share keys: equal keys give equal hashes, and no two keys share one
    assert len(set(keys)) < len(keys)
    by_key = dict(zip(keys, hashes.tolist()))
    assert all(by_key[k] == h for k, h in zip(keys, hashes.tolist()))
    assert len(set(by_key.values())) == len(by_key)
    # a document's hashes do not depend on the others signed with it
    assert np.array_equal(band_hashes(sigs[7:9], bands, rows), hashes[7 * bands:9 * bands])


def test_partition_depends_on_the_key_only(items):
    cfg = DedupConfig()
    bands, rows = cfg.lsh_shape()
    sigs = signatures(items, cfg)
    whole = partition_of(band_hashes(sigs, bands, rows), 64)
    assert np.array_equal(partition_of(band_hashes(sigs[7:9], bands, rows), 64),
                          whole[7 * bands:9 * bands])
    assert whole.min() >= 0 and whole.max() < 64
    assert len(set(whole.tolist())) == 64  # 6,120 keys spread over every partition
    # equal keys, equal partitions: a document and its exact copy
    assert np.array_equal(partition_of(band_hashes(sigs[[3, 3]], bands, rows), 64)[:bands],
                          partition_of(band_hashes(sigs[[3]], bands, rows), 64))


@pytest.mark.parametrize("parts,batch,verify", [(1, 1000, "exact"), (7, 50, "signature"),
                                                (64, 37, "exact"), (64, 512, "none")])
def test_partitioned_buckets_give_the_same_edges_as_band_keys(items, parts, batch, verify):
    cfg = DedupConfig(verify=verify)
    bands, rows = cfg.lsh_shape()
    want = candidate_edges(items, cfg)
    assert 60 <= len(want) < 200  # the near copies are found, unrelated reviews are not
    groups: dict[int, list] = {}
    for start in range(0, len(items), batch):  # batches as a runner would cut them
        part_items = items[start:start + batch]
        sigs = signatures(part_items, cfg)
        for p, chunk in chunks([k for k, _ in part_items], band_hashes(sigs, bands, rows), bands,
                               parts, sigs):
            groups.setdefault(p, []).append(chunk)
    assert len(groups) == parts
    got: dict[tuple[str, str], float] = {}
    for p in sorted(groups, reverse=True):
        for a, b, est in partition_pairs(groups[p], num_perm=cfg.minhash.num_perm,
                                         threshold=cfg.threshold, verify=cfg.verify,
                                         max_pairs=cfg.max_bucket_pairs):
            got[(a, b)] = max(got.get((a, b), 0.0), est)
    assert got == want


def test_no_documents_no_chunks():
    cfg = DedupConfig()
    bands, rows = cfg.lsh_shape()
    empty = np.zeros((0, cfg.minhash.num_perm), dtype=np.uint32)
    assert list(chunks([], band_hashes(empty, bands, rows), bands, 64, empty)) == []
    assert list(partition_pairs([], num_perm=cfg.minhash.num_perm, threshold=0.8,
                                verify="exact", max_pairs=64)) == []


@pytest.mark.parametrize("max_pairs", [64, 3])
def test_chunks_without_signatures_give_the_same_pairs_before_the_estimate(items, max_pairs):
    """candidate_pairs (no signatures in the chunks) = partition_pairs with verify="none" (every
    compared pair, no estimate floor), for small and large buckets (3 anchors: four copies of
    one review make a bucket larger than that)."""
    cfg = DedupConfig(verify="none", max_bucket_pairs=max_pairs)
    bands, rows = cfg.lsh_shape()
    sigs = signatures(items, cfg)
    nodes = [k for k, _ in items]
    keys = band_hashes(sigs, bands, rows)
    full = dict(chunks(nodes, keys, bands, 16, sigs))
    bare = dict(chunks(nodes, keys, bands, 16))
    assert full.keys() == bare.keys()
    assert all(bare[p][2] == b"" and bare[p][:2] == full[p][:2] for p in full)
    want, got = [], []
    for p in sorted(full):
        want += [(a, b) for a, b, _ in partition_pairs([full[p]],
                                                       num_perm=cfg.minhash.num_perm,
                                                       threshold=cfg.threshold, verify="none",
                                                       max_pairs=max_pairs)]
        got += list(candidate_pairs([bare[p]], max_pairs=max_pairs))
    assert sorted(got) == sorted(want)
    assert len(set(got)) > 60 and all(a < b for a, b in got)
