"""The streaming histogram: where values land, merging, quantiles, and what it will not bin."""

from __future__ import annotations

import math

import numpy as np
import pytest

from report.histogram import Histogram


def test_log_bins_start_at_powers_of_ten_and_split_each_decade_in_ten():
    h = Histogram().add([10, 9.99, 100, 12.5, 12.6])
    # bin 10 is [10, 12.59): 10 and 12.5 share it; 12.6 is in the next, 9.99 in the one before
    assert h.counts == {9: 1, 10: 2, 11: 1, 20: 1}
    lo, hi = h.edges(10)
    assert lo == pytest.approx(10) and hi == pytest.approx(10 ** 1.1)


def test_nonpositive_and_missing_values_are_counted_apart():
    h = Histogram().add([0, -3, None, float("nan"), float("inf"), 5])
    assert (h.count, h.nonpositive, h.missing) == (1, 2, 3)
    assert (h.min, h.max, h.sum) == (5, 5, 5)


def test_linear_bins_and_bins_fill_the_gaps():
    h = Histogram.linear(0.5).add(np.array([0.0, 0.49, 0.5, 2.2]))
    assert h.bins() == [(0.0, 0.5, 2), (0.5, 1.0, 1), (1.0, 1.5, 0), (1.5, 2.0, 0), (2.0, 2.5, 1)]
    with pytest.raises(ValueError, match="positive bin width"):
        Histogram.linear(0)


def test_merging_two_halves_equals_adding_everything_once():
    rng = np.random.default_rng(0)
    values = rng.lognormal(5, 1.5, 5000)
    whole = Histogram().add(values)
    a, b = Histogram().add(values[:1234]), Histogram().add(values[1234:])
    merged = a.merge(b)
    assert merged.counts == whole.counts
    assert (merged.count, merged.min, merged.max) == (whole.count, whole.min, whole.max)
    assert merged.sum == pytest.approx(whole.sum)
    with pytest.raises(ValueError, match="different bins"):
        Histogram().merge(Histogram.linear(1))


def test_quantile_is_within_one_bin_of_the_exact_value():
    rng = np.random.default_rng(1)
    values = rng.lognormal(4, 1.0, 20000)
    h = Histogram().add(values)
    for q in (0.1, 0.5, 0.9):
        exact = float(np.quantile(values, q))
        assert abs(math.log10(h.quantile(q)) - math.log10(exact)) <= 0.1 + 1e-9
    assert Histogram().quantile(0.5) is None
    assert h.mean == pytest.approx(values.mean())


def test_one_far_outlier_costs_one_bin_and_an_overflowing_one_is_missing():
    """A corrupt score (1e12 colourfulness, 3e38 JPEG quality) beside the usual 0-100: the bins
    stay sparse and ``bins`` does not list the empty ones between (with an outlier at 1e12 the
    report ran out of memory; 1e7 here keeps a regression cheap)."""
    h = Histogram.linear(5.0).add(np.array([10.0, 12.0, 1e7]))
    assert h.counts == {2: 2, 2_000_000: 1}
    assert h.bins() == [(10.0, 15.0, 2), (1e7, 1e7 + 5, 1)]
    assert len(Histogram.linear(1.0).add([0.5, 4095.5]).bins()) == 4096  # gaps still filled
    far = Histogram.linear(5.0).add(np.array([3.0e38, -3.0e38]))
    assert (far.count, far.missing, far.counts) == (0, 2, {})
    far.add(np.array([50.0, 1e12]))
    assert (far.count, far.max, sorted(far.counts)) == (2, 1e12, [10, 200_000_000_000])


def test_far_outliers_are_left_off_the_chart_and_counted():
    h = Histogram.linear(5.0).add(np.concatenate([np.arange(0, 100, 0.1), [1e7, 2e7]]))
    bins, left_out = h.clipped_bins(max_bins=200)
    assert left_out == 2 and len(bins) <= 200
    assert bins[0][0] == 0 and bins[-1][1] == 100 and sum(n for *_, n in bins) == 1000
    whole, none_out = Histogram.linear(5.0).add(np.arange(0, 100, 0.1)).clipped_bins()
    assert none_out == 0 and len(whole) == 20
