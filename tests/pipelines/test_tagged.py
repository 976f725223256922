"""(tag, value) outputs: every element reaches exactly the output of its tag, an undeclared tag
fails the job with its name, and outputs read as attributes or items."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from pipelines.tagged import ParDoTags, SplitTags, TaggedPCollections, tag


class Route(beam.DoFn):
    """Small numbers and big numbers apart; multiples of 5 also to ``five`` (two outputs)."""

    def process(self, x):
        yield tag("small", x) if x < 10 else tag("big", (x, "kv"))
        if x % 5 == 0:
            yield tag("five", x)


def test_each_value_reaches_the_outputs_of_its_tags():
    with beam.Pipeline(runner=FnApiRunner()) as p:
        out = p | beam.Create([1, 5, 9, 10, 12, 15]) | "Route" >> ParDoTags(
            Route(), ("small", "big", "five"))
        assert isinstance(out, TaggedPCollections)
        assert_that(out.small, equal_to([1, 5, 9]), label="small")
        # a tuple value stays a tuple, so a keyed output can feed GroupByKey
        grouped = out["big"] | beam.GroupByKey() | beam.MapTuple(lambda k, vs: (k, sorted(vs)))
        assert_that(grouped, equal_to([(10, ["kv"]), (12, ["kv"]), (15, ["kv"])]), label="big")
        assert_that(out.five, equal_to([5, 10, 15]), label="five")


def test_undeclared_tag_fails_with_its_name():
    with pytest.raises(Exception, match="output tag 'five' was not declared"):
        with beam.Pipeline(runner=FnApiRunner()) as p:
            _ = p | beam.Create([5]) | ParDoTags(Route(), ("small", "big"))


def test_element_that_is_not_a_pair_is_named():
    with pytest.raises(Exception, match="expected a \\(tag, value\\) pair"):
        with beam.Pipeline(runner=FnApiRunner()) as p:
            _ = p | beam.Create([7]) | SplitTags(("a",))


def test_missing_output_is_an_attribute_error_and_tags_must_be_distinct():
    with pytest.raises(AttributeError, match="no output 'rejected'"):
        _ = TaggedPCollections(kept=None).rejected
    with pytest.raises(ValueError, match="distinct tags"):
        SplitTags(("a", "a"))
