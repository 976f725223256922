"""Live progress of ``m6 corpus`` (pipelines/progress.py): worker counts travel as real UDP
datagrams to the monitor; a real in-process Beam pipeline reports every stage with the exact
counts the stages give without Beam; the lines in each mode (terminal, log, JSON); ``m6 corpus``
with ``--json-progress`` on the in-process and the multi-process DirectRunner, and ``-q``."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from corpus.clean.length import MinLengthFilter
from corpus.clean.markup import StripMarkup
from corpus.document import Document
from corpus.stage import split
from pipelines.progress import (
    ProcessCounts,
    ProgressMonitor,
    choose_mode,
    metric_counts,
    polled_counts,
    reporting_to,
    workers_can_report,
)
from pipelines.stage_dofn import ApplyStages

ROOT = Path(__file__).resolve().parents[2]
POEMS = ROOT / "tests" / "fixtures" / "poems" / "song_poems_200.json"


def _docs() -> list[Document]:
    """Real Song poems as documents, a few wrapped in markup; short ones fail clean.length."""
    poems = json.loads(POEMS.read_text(encoding="utf-8"))
    docs = []
    for i, p in enumerate(poems):
        text = "".join(p.get("paragraphs") or p["content"])
        if i % 7 == 0:
            text = f"<p>{text}</p>"
        docs.append(Document(id=f"poem-{i}", source="forum", text=text, title=None))
    return docs


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_counts_of_two_workers_add_up_and_garbage_is_ignored():
    out = io.StringIO()
    mon = ProgressMonitor("json", out, stages=["b", "a"]).start()
    w1, w2 = ProcessCounts(mon.address), ProcessCounts(mon.address)
    w1.add("a", 10, 7, 3)
    w1.add("a", 5, 5, 0)  # cumulative: the second report replaces the first
    w2.add("a", 1, 0, 1)
    w2.add("b", 4, 4, 0)
    w1.send()
    w2.send()
    stale = ProcessCounts((*mon.address[:2], "an earlier run"))  # same port, other run
    stale.add("a", 1000, 1000, 0)
    stale.send()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # not ours: ignored
        s.sendto(b"\xff not json", mon.address[:2])
        s.sendto(b'{"w": 1}', mon.address[:2])
    mon.stop()
    for w in (w1, w2, stale):
        w.close()
    final = [r for r in _json_lines(out.getvalue()) if r["final"]]
    assert [(r["stage"], r["in"], r["kept"], r["rejected"]) for r in final] == [
        ("b", 4, 4, 0), ("a", 16, 12, 4)]  # in the pipeline's order, not by name
    assert all(r["event"] == "progress" and r["rate_per_s"] >= 0 for r in final)


def test_an_in_process_pipeline_reports_every_stage_exactly():
    docs = _docs()
    stages = [StripMarkup(), MinLengthFilter(min_text_chars=40)]
    # what the stages do without Beam: the numbers the progress lines must show
    marked = list(stages[0].run(docs))
    kept, rejected = split(stages[1].run(marked))
    assert len(kept) and len(rejected)

    out = io.StringIO()
    mon = ProgressMonitor("json", out)
    p = beam.Pipeline(runner=FnApiRunner())
    with reporting_to(mon.address) as names:
        _ = p | beam.Create(docs) | "Clean" >> ApplyStages(stages)
    assert names == ["clean.markup", "clean.length"]
    mon.stages[:] = names
    mon.start()
    result = p.run()
    result.wait_until_finish()
    finals = metric_counts(result)
    mon.stop(finals)
    final = {r["stage"]: r for r in _json_lines(out.getvalue()) if r["final"]}
    assert (final["clean.markup"]["in"], final["clean.markup"]["kept"],
            final["clean.markup"]["rejected"]) == (len(docs), len(docs), 0)
    assert (final["clean.length"]["in"], final["clean.length"]["kept"],
            final["clean.length"]["rejected"]) == (len(docs), len(kept), len(rejected))
    assert finals == {"clean.markup": (len(docs), 0), "clean.length": (len(kept), len(rejected))}
    # what a remote runner's lines show while it runs: Beam's attempted counters
    polled = polled_counts(result)
    assert polled == {"clean.markup": [len(docs), len(docs), 0],
                      "clean.length": [len(docs), len(kept), len(rejected)]}
    remote = ProgressMonitor("json", io.StringIO())  # no worker reports to this one
    remote.poll_metrics(lambda: polled_counts(result))
    assert remote.totals() == polled
    remote.stop()


def test_a_pipeline_built_outside_reporting_sends_nothing():
    out = io.StringIO()
    mon = ProgressMonitor("json", out).start()
    with beam.Pipeline(runner=FnApiRunner()) as p:
        _ = p | beam.Create(_docs()[:5]) | "Clean" >> ApplyStages([StripMarkup()])
    mon.stop()
    assert out.getvalue() == ""


def test_terminal_lines_are_redrawn_in_place_and_log_lines_go_above():
    out = io.StringIO()
    mon = ProgressMonitor("tty", out, stages=["read", "clean"])
    mon.draw(False, {"read": [2, 150, 1], "clean": [150, 140, 10]})
    first = out.getvalue()
    assert first.count("\x1b[2K") == 2 and "\x1b[2F" not in first
    assert f"  read  {2:>11,} in {150:>11,} kept {1:>9,} rejected" in first
    mon.draw(False, {"read": [3, 200, 1], "clean": [200, 190, 10]})
    assert out.getvalue()[len(first):].startswith("\x1b[2F\x1b[2K  read ")
    mon.write_above("INFO a log line\n")
    assert out.getvalue().endswith("\x1b[2F\x1b[JINFO a log line\n")  # the block is erased
    mon.draw(False, {"read": [3, 200, 1], "clean": [200, 190, 10]})
    below = out.getvalue().rsplit("INFO a log line\n", 1)[1]
    assert below.startswith("\x1b[2K  read ") and below.count("\n") == 2  # afresh, below it
    mon.close()


def test_a_log_file_gets_a_block_only_when_something_moved():
    out = io.StringIO()
    mon = ProgressMonitor("log", out, stages=["read"])
    mon.draw(False, {"read": [1, 5, 0]})
    mon.draw(False, {"read": [1, 5, 0]})
    mon.draw(True, {"read": [1, 5, 0]})
    text = out.getvalue()
    assert text.count("progress after") == 1 and text.count("stages, final after") == 1
    assert "\x1b" not in text
    mon.close()


def test_modes_and_runners():
    tty, pipe = io.StringIO(), io.StringIO()
    tty.isatty = lambda: True  # the one property of a terminal the choice reads
    assert choose_mode(False, False, tty) == "tty"
    assert choose_mode(False, False, pipe) == "log"
    assert choose_mode(True, False, tty) is None
    assert choose_mode(True, True, tty) == "json"
    assert workers_can_report("DirectRunner", [])
    assert workers_can_report("DaskRunner", [])  # m6 corpus starts the cluster here
    assert not workers_can_report("DaskRunner", ["--dask_client_address=10.0.0.5:8786"])
    assert not workers_can_report("DataflowRunner", [])
    assert not workers_can_report("PortableRunner", ["--job_endpoint=flink:8099"])


def _small_input(tmp_path: Path) -> Path:
    src = tmp_path / "input"
    src.mkdir()
    sample = ROOT / "data" / "sample"
    crawl = sorted((sample / "crawl").glob("*.warc.gz"))[0]
    (src / crawl.name).symlink_to(crawl)
    for dump in sorted((sample / "dumps").glob("*.jsonl")):
        (src / dump.name).symlink_to(dump)
    return src


@pytest.mark.slow
def test_m6_corpus_json_progress_in_and_multi_process_and_quiet(tmp_path, capsys):
    from pipelines.cli import main as corpus_main

    inp = _small_input(tmp_path)
    finals = {}
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        assert corpus_main(["--input", str(inp), "--output", str(out), "--workers", str(workers),
                            "--no-report", "--no-images", "--json-progress", "-q"]) == 0
        err = capsys.readouterr().err
        rows = [json.loads(line) for line in err.splitlines() if line.startswith('{"event"')]
        finals[workers] = {r["stage"]: (r["in"], r["kept"], r["rejected"])
                           for r in rows if r["final"]}
        chain = ["clean.markup", "clean.language", "clean.chars", "clean.punctuation",
                 "clean.length"]
        for before, after in zip(chain, chain[1:]):  # what one stage keeps, the next takes in
            assert finals[workers][before][1] == finals[workers][after][0]
        assert finals[workers]["read_crawl"][0] == 1  # one crawl file in
    assert finals[1] == finals[2]
    assert corpus_main(["--input", str(inp), "--output", str(tmp_path / "quiet"), "--no-report",
                        "--no-images", "-q"]) == 0
    assert "progress" not in capsys.readouterr().err
