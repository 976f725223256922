"""Batched, vectorised MinHash signatures of character n-grams, equal to ``datasketch.MinHash``.

A document's shingles are the character n-grams of its normal form (``normalise.normalise_text``):
every run of ``ngram`` consecutive characters; a non-empty text shorter than ``ngram`` is one
shingle (the whole text); an empty text has none, and its signature is all ``EMPTY`` (datasketch's
value for an empty MinHash). The signature is, for each of ``num_perm`` permutations, the minimum
over the shingles of ``a_k * fmix32(H(shingle)) + b_k mod 2**32``: datasketch's ``affine32``
scheme, with ``a_k``, ``b_k`` drawn exactly as datasketch draws them from
``numpy.random.RandomState(seed)``. ``H`` is MurmurHash3_x86_32 (seed 0) of the shingle's
UTF-32-LE bytes (``hash="murmur3"``) or datasketch's ``sha1_hash32`` of its UTF-8 bytes
(``hash="sha1"``). ``tests/corpus/dedup/test_minhash.py`` checks signatures against
``datasketch.MinHash(num_perm, seed, scheme="affine32", hashfunc=reference_hashfunc(hash))``
(``tests/support/minhash_reference.py``: datasketch is a test dependency only).

Why it is fast: ``MinHash.bulk`` still hashes shingle by shingle in Python and permutes document
by document. Here a batch of documents becomes one array of code points; the murmur3 blocks of
every window are computed with a handful of numpy operations over the whole batch, and the
permutations are applied to cache-sized slabs of shingle hashes at once, reduced per document with
``np.minimum.reduceat``. Figures are in ``bench/bench_dedup.py``.
"""

from __future__ import annotations

import functools
import hashlib
import operator
from collections.abc import Sequence

import numpy as np

from corpus.codepoints import code_points
from corpus.dedup.config import MinhashConfig
from corpus.dedup.normalise import normalise_texts

EMPTY = np.uint32(0xFFFFFFFF)
_SLAB_ROWS = 2048  # shingles permuted at once: 128 x 2048 x 4 bytes = 1 MiB, cache-sized

_C1 = np.uint32(0xCC9E2D51)
_C2 = np.uint32(0x1B873593)
_M5 = np.uint32(5)
_N1 = np.uint32(0xE6546B64)


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine32 permutation parameters (a odd, b) of ``datasketch.MinHash(num_perm, seed)``."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser, element-wise (wrapping uint32 arithmetic)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """Scalar MurmurHash3_x86_32 (Austin Appleby's reference): the reference for the batch code."""
    m = 0xFFFFFFFF
    h = seed & m
    n = len(data)
    nblocks = n // 4
    for i in range(nblocks):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * 0xCC9E2D51) & m
        k = ((k << 15) | (k >> 17)) & m
        k = (k * 0x1B873593) & m
        h ^= k
        h = ((h << 13) | (h >> 19)) & m
        h = (h * 5 + 0xE6546B64) & m
    tail = data[4 * nblocks:]
    k = 0
    if len(tail) >= 3:
        k ^= tail[2] << 16
    if len(tail) >= 2:
        k ^= tail[1] << 8
    if len(tail) >= 1:
        k ^= tail[0]
        k = (k * 0xCC9E2D51) & m
        k = ((k << 15) | (k >> 17)) & m
        k = (k * 0x1B873593) & m
        h ^= k
    h ^= n
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & m
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & m
    return h ^ (h >> 16)


def encode_shingle(shingle: str, hash: str) -> bytes:
    """The bytes of ``shingle`` that the reference hash function of ``hash`` takes."""
    if hash == "murmur3":
        return shingle.encode("utf-32-le", "surrogatepass")
    return shingle.encode("utf-8", "surrogatepass")


def shingles(normal: str, ngram: int) -> list[str]:
    """The character n-grams of an already normalised text (see the module docstring)."""
    if not normal:
        return []
    if len(normal) <= ngram:
        return [normal]
    return [normal[i:i + ngram] for i in range(len(normal) - ngram + 1)]


def _murmur_windows(cps: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """MurmurHash3_x86_32 of the ``length`` code points from each of ``starts`` (UTF-32-LE)."""
    h = np.zeros(len(starts), dtype=np.uint32)
    for j in range(length):
        k = cps[starts + j] * _C1
        k = _rotl(k, 15) * _C2
        h ^= k
        h = _rotl(h, 13) * _M5 + _N1
    h ^= np.uint32(4 * length)
    return fmix32(h)


def _code_points(texts: Sequence[str], normalised: bool) -> tuple[np.ndarray, np.ndarray]:
    """Code points of the normal forms of ``texts``, concatenated, and the length of each."""
    normals = list(texts) if normalised else normalise_texts(list(texts))
    lengths = np.fromiter((len(t) for t in normals), dtype=np.int64, count=len(normals))
    return code_points("".join(normals)), lengths


def _murmur_hashes(cps: np.ndarray, lengths: np.ndarray, ngram: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes of every document, concatenated, and the count per document."""
    n_docs = len(lengths)
    doc_start = np.zeros(n_docs, dtype=np.int64)
    np.cumsum(lengths[:-1], out=doc_start[1:])
    counts = np.where(lengths >= ngram, lengths - ngram + 1, np.minimum(lengths, 1))
    full = lengths >= ngram
    if full.all():
        return _murmur_windows(cps, _window_starts(doc_start, counts), ngram), counts
    hashes = np.empty(int(counts.sum()), dtype=np.uint32)
    out_start = np.zeros(n_docs, dtype=np.int64)
    np.cumsum(counts[:-1], out=out_start[1:])
    idx = np.flatnonzero(full)
    if len(idx):
        src = _window_starts(doc_start[idx], counts[idx])
        dst = _window_starts(out_start[idx], counts[idx])
        hashes[dst] = _murmur_windows(cps, src, ngram)
    for i in np.flatnonzero(~full & (lengths > 0)):  # short texts: one shingle each
        hashes[out_start[i]] = murmur3_32(cps[doc_start[i]:doc_start[i] + lengths[i]].tobytes())
    return hashes, counts


def _window_starts(doc_start: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ``range(s, s + c)`` for each document start ``s`` and count ``c``."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    cum = np.cumsum(counts)
    offset = np.repeat(doc_start - (cum - counts), counts)
    return np.arange(total, dtype=np.int64) + offset


_digest = operator.methodcaller("digest")


def _sha1_hashes(normals: Sequence[str], ngram: int) -> tuple[np.ndarray, np.ndarray]:
    sha1 = hashlib.sha1
    counts = np.zeros(len(normals), dtype=np.int64)
    parts = []
    for i, normal in enumerate(normals):
        sh = shingles(normal, ngram)
        counts[i] = len(sh)
        parts.append(b"".join(map(_digest, map(sha1, (s.encode("utf-8", "surrogatepass")
                                                       for s in sh)))))
    raw = np.frombuffer(b"".join(parts), dtype=np.uint8).reshape(-1, 20)[:, :4]
    return np.ascontiguousarray(raw).view("<u4").ravel().astype(np.uint32), counts


class MinHasher:
    """Signs batches of texts. Picklable; the permutations are drawn once per instance."""

    def __init__(self, cfg: MinhashConfig):
        self.cfg = cfg
        a, b = permutations(cfg.num_perm, cfg.seed)
        self._a = a[:, None]  # permutations along rows, shingles along columns
        self._b = b[:, None]

    def shingle_hashes(self, texts: Sequence[str], *, normalised: bool = False
                       ) -> tuple[np.ndarray, np.ndarray]:
        """(hashes of all shingles, concatenated, as uint32; shingle count per text)."""
        if self.cfg.hash == "murmur3":
            cps, lengths = _code_points(texts, normalised)
            return _murmur_hashes(cps, lengths, self.cfg.ngram)
        normals = list(texts) if normalised else normalise_texts(list(texts))
        return _sha1_hashes(normals, self.cfg.ngram)

    def signatures(self, texts: Sequence[str], *, normalised: bool = False) -> np.ndarray:
        """Signatures of ``texts`` as a (len(texts), num_perm) uint32 array, one row per text."""
        hashes, counts = self.shingle_hashes(texts, normalised=normalised)
        return self.signatures_from_hashes(hashes, counts)

    def signatures_from_hashes(self, hashes: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Apply the permutations to pre-computed shingle hashes and take the minimum per text."""
        n_docs = len(counts)
        sig = np.full((n_docs, self.cfg.num_perm), EMPTY, dtype=np.uint32)
        if n_docs == 0 or len(hashes) == 0:
            return sig
        mixed = fmix32(hashes.astype(np.uint32, copy=False))
        ends = np.cumsum(counts)
        starts = ends - counts
        nonempty = np.flatnonzero(counts > 0)
        ne_ends = ends[nonempty]
        slab = np.empty((self.cfg.num_perm, _SLAB_ROWS), dtype=np.uint32)
        i = 0
        while i < len(nonempty):
            # whole documents until the slab is full (a longer document gets its own slab)
            lo = starts[nonempty[i]]
            j = max(int(np.searchsorted(ne_ends, lo + _SLAB_ROWS, side="right")), i + 1)
            docs = nonempty[i:j]
            hi = ends[docs[-1]]
            cols = hi - lo
            buf = slab[:, :cols] if cols <= _SLAB_ROWS else np.empty(
                (self.cfg.num_perm, cols), dtype=np.uint32)
            np.multiply(self._a, mixed[None, lo:hi], out=buf)
            np.add(buf, self._b, out=buf)
            # the minimum along contiguous rows is several times faster than along columns
            sig[docs] = np.minimum.reduceat(buf, starts[docs] - lo, axis=1).T
            i = j
        return sig


@functools.lru_cache(maxsize=8)
def minhasher(cfg: MinhashConfig) -> MinHasher:
    """One ``MinHasher`` per config in a process (the permutations are drawn once)."""
    return MinHasher(cfg)


def estimate_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> np.ndarray | float:
    """Fraction of equal signature positions: the MinHash estimate of the Jaccard similarity.
    ``sig_b`` may be a matrix of signatures (one per row)."""
    eq = np.asarray(sig_a) == np.asarray(sig_b)
    return eq.mean(axis=-1)
