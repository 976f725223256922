"""LSH shapes equal datasketch's optimal_param; band keys separate bands and match equal bands."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch.lsh import _optimal_param

from corpus.dedup.config import DedupConfig
from corpus.dedup.lsh import band_keys, band_keys_batch, candidate_probability, optimal_param


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.85, 0.9, 0.95])
@pytest.mark.parametrize("num_perm", [64, 128, 256])
@pytest.mark.parametrize("weights", [(0.5, 0.5), (0.2, 0.8), (0.02, 0.98)])
def test_shape_equals_datasketch(threshold, num_perm, weights):
    assert optimal_param(threshold, num_perm, *weights) == _optimal_param(threshold, num_perm,
                                                                          *weights)


def test_default_shape_leans_to_recall():
    bands, rows = DedupConfig().lsh_shape()
    assert (bands, rows) == (17, 7)
    assert candidate_probability(0.8, bands, rows) > 0.98
    assert candidate_probability(0.3, bands, rows) < 0.01


def test_explicit_shape_wins():
    assert DedupConfig(bands=20, rows=5).lsh_shape() == (20, 5)
    with pytest.raises(ValueError, match="set both"):
        DedupConfig(bands=20)
    with pytest.raises(ValueError, match="exceeds"):
        DedupConfig(bands=20, rows=7)


def test_band_keys():
    sig = np.arange(12, dtype=np.uint32)
    other = sig.copy()
    other[5] = 99  # differs in band 1 only (rows 4..7)
    ka, kb = band_keys(sig, 3, 4), band_keys(other, 3, 4)
    assert [a == b for a, b in zip(ka, kb)] == [True, False, True]
    assert ka[0][:2] == b"\x00\x00" and ka[2][:2] == b"\x00\x02" and len(ka[0]) == 2 + 16
    assert band_keys_batch(np.stack([sig, other]), 3, 4) == [ka, kb]
    # the same values in two different bands are different keys
    flat = np.zeros(8, dtype=np.uint32)
    assert len(set(band_keys(flat, 2, 4))) == 2
