"""The reference side of the MinHash equality tests: the ``hashfunc`` to give
``datasketch.MinHash`` so its signatures equal ``corpus.dedup.minhash.MinHasher``'s.

It lives with the tests because only they (and ``bench/bench_dedup.py``) compare against
datasketch; the corpus itself never imports it, so datasketch is a dev dependency, not a
runtime one (issue 19, "dependencies that earn their place").
"""

from __future__ import annotations

from collections.abc import Callable

from corpus.dedup.minhash import murmur3_32


def reference_hashfunc(hash: str) -> Callable[[bytes], int]:
    """``murmur3``: our MurmurHash3_x86_32 of the UTF-32-LE bytes; ``sha1``: datasketch's
    default ``sha1_hash32`` of the UTF-8 bytes (``corpus.dedup.minhash.encode_shingle``)."""
    if hash == "murmur3":
        return murmur3_32
    from datasketch.hashfunc import sha1_hash32

    return sha1_hash32
