"""The generic Beam adapter: kept records on the main output, rejected ones (with their reason)
on the tagged output, reasons counted, and an exception on one record never kills the job."""

from __future__ import annotations

from typing import ClassVar

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from corpus.document import Document
from corpus.stage import Filter, Verdict
from pipelines.stage_dofn import ApplyStage, ApplyStages


class MinChars(Filter):
    name: ClassVar[str] = "min_chars"

    def __init__(self, n: int):
        self.n = n
        self.ready = False

    def setup(self):
        self.ready = True

    def keep(self, doc):
        assert self.ready, "setup() was not called before process()"
        if doc.text == "boom":
            raise RuntimeError("cannot score this")
        if len(doc.text) < self.n:
            return Verdict.drop("too_short", score=len(doc.text))
        return Verdict.ok()


class Upper(MinChars):
    name: ClassVar[str] = "upper"

    def process(self, doc):
        yield doc.replace(text=doc.text.upper())


def _docs(*texts):
    return [Document(id=str(i), source="forum", text=t) for i, t in enumerate(texts)]


def test_apply_stage_routes_and_counts():
    p = beam.Pipeline(runner=FnApiRunner())
    out = p | beam.Create(_docs("long enough", "tiny", "boom", "also long")) | ApplyStage(
        MinChars(5))
    assert_that(out.main | beam.Map(lambda d: d.text), equal_to(["long enough", "also long"]),
                label="kept")
    assert_that(out.rejected | beam.Map(lambda r: (r.id, r.stage, r.reason, r.score)),
                equal_to([("1", "min_chars", "too_short", 4.0),
                          ("2", "min_chars", "error:RuntimeError", None)]), label="rejected")
    result = p.run()
    result.wait_until_finish()
    counters = {c.key.metric.name: c.committed for c in
                result.metrics().query(MetricsFilter().with_namespace("m6.min_chars"))["counters"]}
    assert counters == {"kept": 2, "too_short": 1, "error:RuntimeError": 1}


def test_apply_stages_chains_and_flattens_rejected():
    with beam.Pipeline(runner=FnApiRunner()) as p:
        kept, rejected = (p | beam.Create(_docs("abcdef", "ab", "xyzxyz"))
                          | ApplyStages([MinChars(3), Upper(0)], label="Chain"))
        assert_that(kept | beam.Map(lambda d: d.text), equal_to(["ABCDEF", "XYZXYZ"]),
                    label="kept")
        assert_that(rejected | beam.Map(lambda r: r.reason), equal_to(["too_short"]),
                    label="rej")


class LongerThan(MinChars):
    name: ClassVar[str] = "longer_than"


def test_apply_stages_is_one_step_with_each_stage_counted():
    # the chain runs in one ParDo (plus the two Filters that split its output), a stage sees
    # only what the stage before it kept, and each stage keeps its own counters and error rows
    p = beam.Pipeline(runner=FnApiRunner())
    kept, rejected = (p | beam.Create(_docs("abcdef", "ab", "boom", "xyzxyzxyz"))
                      | ApplyStages([MinChars(3), Upper(0), LongerThan(7)], label="Chain"))
    assert_that(kept | beam.Map(lambda d: d.text), equal_to(["XYZXYZXYZ"]), label="kept")
    assert_that(rejected | beam.Map(lambda r: (r.id, r.stage, r.reason, r.text)),
                equal_to([("1", "min_chars", "too_short", "ab"),
                          ("2", "min_chars", "error:RuntimeError", "boom"),
                          ("0", "longer_than", "too_short", "ABCDEF")]), label="rejected")
    pardos = [t.unique_name for t in p.to_runner_api().components.transforms.values()
              if t.unique_name.startswith("Chain/") and t.spec.urn == "beam:transform:pardo:v1"]
    assert sorted(pardos) == ["Chain/Kept", "Chain/Rejected", "Chain/Run"]
    result = p.run()
    result.wait_until_finish()

    def counters(stage):
        return {c.key.metric.name: c.committed for c in result.metrics().query(
            MetricsFilter().with_namespace(f"m6.{stage}"))["counters"]}

    assert counters("min_chars") == {"kept": 2, "too_short": 1, "error:RuntimeError": 1}
    assert counters("upper") == {"kept": 2}
    assert counters("longer_than") == {"kept": 1, "too_short": 1}
