"""LSH buckets found per partition of band keys: few large shuffle elements instead of one per band.

Why: with the default 17 x 7 banding, a shuffle keyed by band key carries 17 elements per
document, and almost every bucket holds one document; on Beam's runners the per-element cost of
that shuffle (encode, group, decode, one DoFn call per singleton bucket) made the near-duplicate
step several times slower than the same work in memory (issue 17.2). Here each batch of signed
documents is cut by *partition* of its band keys (a stable 32-bit hash of the key, modulo
``parts``) into at most ``parts`` compact chunks of bytes; the shuffle is keyed by partition, and
one call per partition finds the buckets of all its keys at once with ``np.unique``, as
``local.candidate_edges`` does per band. Every key falls in exactly one partition, so each bucket
is whole in one group and ``buckets.bucket_pairs`` sees the same members as with a shuffle keyed
by band key: the same candidate pairs, whatever the batches or their order.

A chunk is ``(nodes, keys, signatures)``: the node keys (list of str), the band keys named by
``band_hashes`` (8 bytes each, little-endian uint64) concatenated, and the full signatures
(``num_perm`` little-endian uint32 each, or nothing with exact verification) concatenated, one
entry per (document, band). Only types every Beam coder handles natively (no pickled objects)
cross the shuffle.

Memory: a partition group holds ``bands * documents / parts`` entries of 8 bytes, plus
``4 * num_perm`` with the signatures, plus the node key: with 17 bands and 64 partitions, about
25 MB per partition for 1,000,000 documents (about 150 MB with 128-permutation signatures).
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from corpus.dedup.buckets import Edge, bucket_pairs, estimate_floor
from corpus.dedup.minhash import fmix32

Chunk = tuple[list[str], bytes, bytes]

_GOLDEN = np.uint32(0x9E3779B1)
_GOLDEN2 = np.uint32(0x85EBCA77)
_SEED2 = np.uint32(0x27D4EB2F)


def band_hashes(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(docs * bands,) uint64: entry ``d * bands + b`` names band key ``lsh.band_keys(sigs[d])[b]``
    (its band index and its ``rows`` values) by two independent 32-bit hash chains: the same in
    every process and on every platform (uint32 arithmetic, no salted ``hash()``). The high half
    is the key's partition hash (``partition_of``).

    Why not the key itself (2 + 4 * rows = 30 bytes): the chunks carry one entry per document and
    band, and on Beam's runners every byte crosses the runner twice (issue 17.2). Two different
    keys share a hash with probability about 2**-64 per pair; such a pair would only become a
    candidate that verification then drops."""
    m = len(sigs)
    block = np.ascontiguousarray(sigs[:, :bands * rows], dtype=np.uint32).reshape(m, bands, rows)
    h = np.broadcast_to(np.arange(bands, dtype=np.uint32), (m, bands)).copy()
    g = h ^ _SEED2
    for r in range(rows):
        h = fmix32(h * _GOLDEN + block[:, :, r])
        g = fmix32(g * _GOLDEN2 + block[:, :, r])
    return ((h.astype(np.uint64) << np.uint64(32)) | g.astype(np.uint64)).ravel()


def partition_of(keys: np.ndarray, parts: int) -> np.ndarray:
    """The partition of each band key named by ``band_hashes``: its high half modulo ``parts``."""
    return (keys >> np.uint64(32)).astype(np.uint32) % np.uint32(parts)


def chunks(nodes: Sequence[str], keys: np.ndarray, bands: int, parts: int,
           sigs: np.ndarray | None = None) -> Iterator[tuple[int, Chunk]]:
    """(partition, chunk) for the band keys of signed documents ``nodes``, one chunk per
    partition that any of their keys falls in. ``keys``: their ``band_hashes`` (``bands`` per
    document, in document order); ``sigs``: their signatures (one row each), carried in the
    chunks for an estimate per candidate pair (``partition_pairs``), or None: 17 copies of a
    512-byte signature per document were 95% of the bytes of this shuffle, and with exact
    verification the estimate is taken later, once per candidate pair (``candidate_pairs``)."""
    if not len(nodes):
        return
    part = partition_of(keys, parts)
    order = np.argsort(part, kind="stable")
    cuts = np.flatnonzero(np.diff(part[order])) + 1
    sig_bytes = None if sigs is None else np.ascontiguousarray(sigs, dtype="<u4")
    keys = np.asarray(keys, dtype="<u8")  # the records' bytes already are
    for sel in np.split(order, cuts):
        docs = sel // bands
        yield (int(part[sel[0]]),
               ([nodes[d] for d in docs.tolist()], keys[sel].tobytes(),
                b"" if sig_bytes is None else sig_bytes[docs].tobytes()))


def _buckets(group: Iterable[Chunk]
             ) -> tuple[list[str], list[bytes], np.ndarray, np.ndarray, np.ndarray]:
    """(nodes, signature bytes per chunk, entry order, bucket starts, bucket sizes) of the
    buckets with two or more entries in one partition's chunks."""
    nodes: list[str] = []
    keys: list[bytes] = []
    sigs: list[bytes] = []
    for n, k, s in group:
        nodes.extend(n)
        keys.append(k)
        sigs.append(s)
    none = np.zeros(0, dtype=np.int64)
    if len(nodes) < 2:
        return nodes, sigs, none, none, none
    key_arr = np.frombuffer(b"".join(keys), dtype="<u8")
    keys.clear()
    _, inverse, counts = np.unique(key_arr, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    shared = np.flatnonzero(counts[inverse] > 1)
    if not len(shared):
        return nodes, sigs, none, none, none
    order = shared[np.argsort(inverse[shared], kind="stable")]
    starts = np.concatenate(([0], np.flatnonzero(np.diff(inverse[order])) + 1))
    sizes = np.diff(np.append(starts, len(order)))
    return nodes, sigs, order, starts, sizes


def candidate_pairs(group: Iterable[Chunk], *, max_pairs: int) -> Iterator[tuple[str, str]]:
    """The pairs (smaller, larger) that ``partition_pairs`` would compare, from chunks without
    signatures: in each bucket, every member with each anchor smaller than it (``bucket_pairs``
    before its estimate; a pair found in several buckets comes once per bucket)."""
    nodes, _, order, starts, sizes = _buckets(group)
    for start, size in zip(starts.tolist(), sizes.tolist()):
        members = [nodes[i] for i in order[start:start + size].tolist()]
        anchors = sorted(set(heapq.nsmallest(max_pairs, members)))
        if len(anchors) < 2:
            continue
        for key in members:
            for anchor in anchors[:bisect.bisect_left(anchors, key)]:
                yield (anchor, key)


def partition_pairs(group: Iterable[Chunk], *, num_perm: int, threshold: float, verify: str,
                    max_pairs: int) -> Iterator[Edge]:
    """Candidate edges of every bucket with two or more entries in one partition's chunks
    (``bucket_pairs``; a pair found in several buckets comes once per bucket)."""
    nodes, sigs, order, starts, sizes = _buckets(group)
    if not len(order):
        return
    sig_arr = np.frombuffer(b"".join(sigs), dtype="<u4").reshape(-1, num_perm)
    sigs.clear()
    if max_pairs >= 2:
        # buckets of two (a document and its copy, most shared buckets): one numpy comparison
        # for all of them, with the values bucket_pairs would give
        two = starts[sizes == 2]
        yield from _pairs_of_two(nodes, sig_arr, order[two], order[two + 1],
                                 estimate_floor(threshold, verify))
        starts = starts[sizes != 2]
        sizes = sizes[sizes != 2]
    for start, size in zip(starts.tolist(), sizes.tolist()):
        members = [(nodes[i], sig_arr[i]) for i in order[start:start + size].tolist()]
        yield from bucket_pairs(members, threshold=threshold, verify=verify, max_pairs=max_pairs)


def _pairs_of_two(nodes: list[str], sigs: np.ndarray, first: np.ndarray, second: np.ndarray,
                  floor: float) -> Iterator[Edge]:
    """``bucket_pairs`` of the two-member buckets (first[k], second[k]) at once."""
    if not len(first):
        return
    est = (sigs[first] == sigs[second]).mean(axis=1)
    for k in np.flatnonzero(est >= floor).tolist():
        a, b = nodes[first[k]], nodes[second[k]]
        if a != b:  # the same node twice is no pair
            yield (a, b, float(est[k])) if a < b else (b, a, float(est[k]))
