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


class Logged(MinChars):
    """Records in this process's ``CALLS`` which stage saw which record, in order."""

    name: ClassVar[str] = "logged"
    CALLS: ClassVar[list[tuple[str, str]]] = []

    def __init__(self, n: int, label: str):
        super().__init__(n)
        self.label = label

    def keep(self, doc):
        Logged.CALLS.append((self.label, doc.id))
        return super().keep(doc)


def _texts_by_batch(batch: int, texts: list[str]):
    Logged.CALLS.clear()
    with beam.Pipeline(runner=FnApiRunner()) as p:
        kept, rejected = (p | beam.Create(_docs(*texts), reshuffle=False)
                          | ApplyStages([Logged(3, "a"), Upper(0), Logged(5, "b")],
                                        label="Chain", batch=batch))
        assert_that(kept | beam.Map(lambda d: d.text),
                    equal_to([t.upper() for t in texts if len(t) >= 5 and t != "boom"]),
                    label="kept")
        assert_that(rejected | beam.Map(lambda r: (r.id, r.stage, r.reason)),
                    equal_to([(str(i), "logged", "too_short" if t != "boom"
                               else "error:RuntimeError")
                              for i, t in enumerate(texts) if len(t) < 5 or t == "boom"]),
                    label="rejected")
    return list(Logged.CALLS)


def test_a_batched_chain_gives_the_same_rows_and_runs_a_stage_at_a_time():
    # 7 records in batches of 3: two full batches in process() and the last record from
    # finish_bundle; each batch meets stage "a" before any of it meets stage "b"
    texts = ["abcdef", "ab", "boom", "xyzxyz", "abcd", "longer one", "qrstuv"]
    one_at_a_time = _texts_by_batch(1, texts)
    batched = _texts_by_batch(3, texts)
    assert sorted(one_at_a_time) == sorted(batched)  # the same stage calls
    assert one_at_a_time[:2] == [("a", "0"), ("b", "0")]  # a record goes all the way first
    assert batched == [("a", "0"), ("a", "1"), ("a", "2"), ("b", "0"),
                       ("a", "3"), ("a", "4"), ("a", "5"), ("b", "3"), ("b", "4"), ("b", "5"),
                       ("a", "6"), ("b", "6")]


def test_a_chain_holds_no_records_where_finish_bundle_output_is_lost():
    # the DaskRunner of Beam 2.77 drops what finish_bundle emits (pipelines/batches.py): there,
    # and for records in windows other than the global one, the chain runs a record at a time
    from apache_beam.transforms.window import FixedWindows

    from pipelines.dask_runner import DaskRunner

    def chain_batch(p, pcoll):
        kept, _ = pcoll | ApplyStages([MinChars(1)], label="Chain")
        transform = next(t for t in p.transforms_stack[0].parts if t.full_label == "Chain")
        run = next(t for t in transform.parts if t.full_label == "Chain/Run")
        return run.transform.fn.batch

    p = beam.Pipeline(runner=FnApiRunner())
    assert chain_batch(p, p | beam.Create(_docs("a"))) == 100
    p = beam.Pipeline(runner=DaskRunner())
    assert chain_batch(p, p | beam.Create(_docs("a"))) == 1
    p = beam.Pipeline(runner=FnApiRunner())
    windowed = p | beam.Create(_docs("a")) | beam.WindowInto(FixedWindows(60))
    assert chain_batch(p, windowed) == 1


def test_a_batch_ends_early_once_it_holds_enough_bytes(monkeypatch):
    # three 5-character texts against a 12-byte bound: the third record ends the first batch
    import pipelines.stage_dofn as stage_dofn

    monkeypatch.setattr(stage_dofn, "CHAIN_BATCH_BYTES", 12)
    calls = _texts_by_batch(100, ["abcde", "fghij", "klmno", "pqrst"])
    assert calls == [("a", "0"), ("a", "1"), ("a", "2"), ("b", "0"), ("b", "1"), ("b", "2"),
                     ("a", "3"), ("b", "3")]
