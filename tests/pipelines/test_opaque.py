"""pipelines.opaque: values encoded once and decoded once, plain or zstd-compressed, read back
equal; compression shrinks the repetitive vertex names of dedup's band chunks; bytes that are
not an encoded value are refused."""

from __future__ import annotations

import numpy as np
import pytest

from corpus.dedup.partitions import band_hashes, chunks
from corpus.dedup.survivor import node_key
from corpus.dedup.vertices import vertex
from pipelines.opaque import decode, encode
from schemas import make_id


def _chunk():
    nodes = [vertex(node_key(make_id("news", str(i)), "news"), 0, f"{i % 7:012x}")
             for i in range(200)]
    sigs = np.random.default_rng(3).integers(0, 2**32, size=(200, 128), dtype=np.uint32)
    return next(iter(chunks(nodes, band_hashes(sigs, 17, 7), 17, 1)))[1]


@pytest.mark.parametrize("value", [None, 3, "北京", b"\x00\x01", [("v", None, "k", b"s")],
                                   {"a": 1.5}])
def test_values_read_back_equal(value):
    assert decode(encode(value)) == value
    assert decode(encode(value, compress=True)) == value


def test_band_chunks_compress_to_under_two_thirds():
    chunk = _chunk()
    plain, packed = encode(chunk), encode(chunk, compress=True)
    assert decode(packed) == decode(plain) == chunk
    assert len(packed) < 2 / 3 * len(plain)


def test_other_bytes_are_refused():
    with pytest.raises(ValueError, match="not an encoded value"):
        decode(b"\x07abc")
