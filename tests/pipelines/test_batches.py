"""Batches: every element in exactly one batch of at most ``size``, by BatchElements or by keyed
groups (the DaskRunner's way), and the way is chosen by runner."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that

from pipelines.batches import Batches, chunks, delivers_finish_bundle, stable_key


def _check(size: int, n: int):
    def check(batches):
        assert all(1 <= len(b) <= size for b in batches), [len(b) for b in batches]
        got = sorted(x for b in batches for x in b)
        assert got == list(range(n)), f"{len(got)} elements in batches, {n} expected"
    return check


@pytest.mark.parametrize("by_key", [False, True])
def test_every_element_once_in_batches_of_at_most_size(by_key):
    with beam.Pipeline(runner=FnApiRunner()) as p:
        batches = (p | beam.Create(list(range(1000)))
                   | Batches(64, min_size=1, by_key=by_key, keys=8))
        assert_that(batches, _check(64, 1000))


def test_keyed_groups_are_stable_and_cut_in_order():
    assert stable_key("node-1", str, 64) == stable_key("node-1", str, 64)
    assert stable_key(("a", 1), lambda e: e[0], 7)[0] == stable_key(("a", 2), lambda e: e[0], 7)[0]
    assert list(chunks((0, iter(range(7))), 3)) == [[0, 1, 2], [3, 4, 5], [6]]


def test_runner_choice():
    assert delivers_finish_bundle(beam.Pipeline(runner=FnApiRunner()))
    from apache_beam.runners.dask.dask_runner import DaskRunner

    assert not delivers_finish_bundle(beam.Pipeline(runner=DaskRunner()))
    with pytest.raises(ValueError, match="min_size <= size"):
        Batches(4, min_size=5)
