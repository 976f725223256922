"""Batched MinHash signatures are identical to datasketch.MinHash (affine32, same seed and
permutations, the reference hash function), for both hash choices, on real Chinese text."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch import MinHash

from corpus.dedup.config import MinhashConfig
from corpus.dedup.minhash import (
    EMPTY,
    MinHasher,
    encode_shingle,
    estimate_jaccard,
    murmur3_32,
    permutations,
    shingles,
)
from corpus.dedup.normalise import normalise_text
from tests.support.minhash_reference import reference_hashfunc

EDGE_TEXTS = ["", "！！！", "好", "你好", "五个字符串", "😀😀😀😀😀😀x", "\ud800 lone surrogate"]


def datasketch_signature(text: str, cfg: MinhashConfig) -> np.ndarray:
    m = MinHash(num_perm=cfg.num_perm, seed=cfg.seed, scheme=cfg.scheme,
                hashfunc=reference_hashfunc(cfg.hash))
    for s in shingles(normalise_text(text), cfg.ngram):
        m.update(encode_shingle(s, cfg.hash))
    return m.hashvalues


@pytest.mark.parametrize("hash", ["murmur3", "sha1"])
@pytest.mark.parametrize("ngram, num_perm, seed", [(3, 128, 1), (5, 64, 7), (1, 16, 42)])
def test_signatures_equal_datasketch(reviews, hash, ngram, num_perm, seed):
    cfg = MinhashConfig(ngram=ngram, num_perm=num_perm, seed=seed, hash=hash)
    texts = reviews[:40] + EDGE_TEXTS
    ours = MinHasher(cfg).signatures(texts)
    assert ours.shape == (len(texts), num_perm) and ours.dtype == np.uint32
    for text, sig in zip(texts, ours):
        assert np.array_equal(sig, datasketch_signature(text, cfg)), text[:30]


def test_permutations_are_datasketchs():
    a, b = permutations(128, 1)
    m = MinHash(num_perm=128, seed=1, scheme="affine32")
    assert np.array_equal(a, m.permutations[0]) and np.array_equal(b, m.permutations[1])


def test_murmur3_matches_published_vectors():
    # MurmurHash3_x86_32 test vectors (smhasher's reference implementation)
    assert murmur3_32(b"", 0) == 0
    assert murmur3_32(b"", 1) == 0x514E28B7
    assert murmur3_32(b"aaaa", 0x9747B28C) == 0x5A97808A
    assert murmur3_32(b"Hello, world!", 0x9747B28C) == 0x24884CBA
    assert murmur3_32(b"The quick brown fox jumps over the lazy dog", 0x9747B28C) == 0x2FA826CD


def test_batch_boundaries_do_not_change_signatures(reviews):
    hasher = MinHasher(MinhashConfig())
    texts = reviews[:60]
    whole = hasher.signatures(texts)
    pieces = np.vstack([hasher.signatures(texts[i:i + 7]) for i in range(0, 60, 7)])
    assert np.array_equal(whole, pieces)


def test_a_long_document_larger_than_a_slab(reviews):
    long = "".join(reviews[:40])  # > 2048 shingles: gets its own slab
    cfg = MinhashConfig()
    assert np.array_equal(MinHasher(cfg).signatures([long, "短"])[0],
                          datasketch_signature(long, cfg))


def test_empty_text_has_the_empty_signature():
    sig = MinHasher(MinhashConfig()).signatures(["", "，。 "])
    assert (sig == EMPTY).all()


def test_estimate_tracks_similarity(reviews):
    hasher = MinHasher(MinhashConfig())
    a, b, c = hasher.signatures([reviews[1], reviews[1] + "非常好", reviews[2]])
    assert estimate_jaccard(a, a) == 1.0
    assert 0.75 < estimate_jaccard(a, b) < 1.0
    assert estimate_jaccard(a, c) < 0.1
