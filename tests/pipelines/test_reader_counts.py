"""The crawl and dump readers' counts of what they skipped on purpose (requests, revisits,
metadata, blank lines) reach Beam metrics and, folded per reader, the ``inputs`` of stats.json."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from corpus.parse.counts import FileCounts, RecordCounts, fold_counts
from corpus.parse.warc import iter_records
from corpus.readers import ReadCrawlFile, ReadDumpFile, is_file_counts
from pipelines.stage_dofn import ApplyStage

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
CRAWL = sorted(str(p) for p in (SAMPLE / "crawl").iterdir())
DUMPS = sorted(str(p) for p in (SAMPLE / "dumps").iterdir())


def test_reader_counts_become_metrics_and_one_inputs_entry():
    p = beam.Pipeline(runner=FnApiRunner())
    crawl = p | "Crawl" >> beam.Create(CRAWL) | "ReadCrawl" >> ApplyStage(
        ReadCrawlFile(emit_counts=True))
    dumps = p | "Dumps" >> beam.Create(DUMPS) | "ReadDumps" >> ApplyStage(
        ReadDumpFile(emit_counts=True))
    counts = ((crawl.main, dumps.main) | beam.Flatten() | beam.Filter(is_file_counts)
              | beam.combiners.ToList() | beam.Map(fold_counts))
    assert_that(counts | beam.Map(lambda c: (c["crawl"]["skipped"], c["crawl"]["files"],
                                             c["dumps"]["skipped"], c["dumps"]["kept"])),
                equal_to([({"metadata": 1, "request": 4, "revisit": 3, "warcinfo": 4}, 4,
                           {"blank_line": 1}, 165)]))
    result = p.run()
    result.wait_until_finish()

    def counters(namespace):
        query = result.metrics().query(MetricsFilter().with_namespace(namespace))
        return {c.key.metric.name: c.committed for c in query["counters"]
                if c.key.metric.name.startswith("input.")}

    expected = RecordCounts()
    for path in CRAWL:
        list(iter_records(path, counts=expected))
    assert counters("m6.read_crawl") == {f"input.{k}": v for k, v in expected.items() if v}
    assert counters("m6.read_crawl")["input.skipped:revisit"] == 3
    assert counters("m6.read_dump")["input.skipped:blank_line"] == 1


def test_readers_yield_counts_only_when_asked():
    plain = list(ReadCrawlFile().process(CRAWL[0]))
    counted = list(ReadCrawlFile(emit_counts=True).process(CRAWL[0]))
    assert counted[:-1] == plain
    assert isinstance(counted[-1], FileCounts) and counted[-1].path == CRAWL[0]
    assert counted[-1].counts.kept == sum(1 for r in plain if hasattr(r, "body"))
