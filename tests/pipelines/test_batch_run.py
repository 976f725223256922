"""``m6 corpus`` in batches (pipelines/batch_run.py) on a generated news crawl (bench/make_crawl.py,
from the real reviews in tests/fixtures/dedup): one corpus like a single run's, no duplicate left
across batches, the same bytes when run again, and a run killed with SIGKILL resumes without
redoing the batches it finished, with the same bytes as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus.dedup.config import DedupConfig
from corpus.dedup.local import dedup_text
from corpus.document import Document
from pipelines.batch_run import WORK_DIR
from pipelines.cli import main

ROOT = Path(__file__).resolve().parents[2]
PAGES, PER_FILE = 400, 100
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def crawl(tmp_path_factory) -> Path:
    sys.path.insert(0, str(ROOT))
    from bench import make_crawl

    old = make_crawl.REVIEWS
    make_crawl.REVIEWS = []  # the committed fixture, so the crawl is the same on every machine
    try:
        folder = tmp_path_factory.mktemp("crawl")
        make_crawl.build(folder, PAGES, seed=3, per_file=PER_FILE)
    finally:
        make_crawl.REVIEWS = old
    return folder


def argv(models: tuple[Path, Path], crawl: Path, out: Path, *more: str) -> list[str]:
    lm, spam = models
    return ["--input", str(crawl), "--output", str(out), "--no-report", "-q",
            "--set", f"quality.perplexity.model={lm}", "--set", f"quality.spam.model={spam}", *more]


BATCHED = ("--set", "run.batch_records=100")


def texts(out: Path) -> list[Document]:
    docs = []
    for entry in json.loads((out / "manifest.json").read_text())["files"]["text"]:
        for r in pq.read_table(out / entry["path"]).to_pylist():
            docs.append(Document(id=r["id"], source=r["source"], text=r["text"], url=r["url"]))
    return docs


def files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != "config.json"}


@pytest.fixture(scope="module")
def runs(crawl, sample_models, tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    assert main(argv(sample_models, crawl, base / "single")) == 0
    assert main(argv(sample_models, crawl, base / "batched", *BATCHED)) == 0
    return base / "single", base / "batched"


def test_batches_make_one_corpus_like_a_single_run(runs):
    single, batched = runs
    manifest = json.loads((batched / "manifest.json").read_text())
    names = [e["path"] for kind in manifest["files"].values() for e in kind]
    batches = {n.split("-")[1] for n in names if n.split("/")[1].startswith("part-b")}
    assert len(batches) == 4  # 4 files of 100 pages, 100 records a batch
    assert not (batched / WORK_DIR).exists()
    on_disk = sorted(str(p.relative_to(batched)) for p in batched.rglob("*.parquet"))
    assert on_disk == sorted(names)
    stats = json.loads((batched / "stats.json").read_text())
    one = json.loads((single / "stats.json").read_text())
    assert stats["inputs"] == one["inputs"]  # every record read once, in one batch
    assert stats["totals"]["text"]["passages"] == manifest["rows"]["text"] == len(texts(batched))
    assert stats["rejected_total"] == manifest["rows"]["rejected"]
    # the first copy in the input survives (corpus/dedup/survivor.py), and an earlier batch's
    # copy is the earlier one: the batches keep exactly the documents of the single run (24 of
    # 279 differed when the smallest id won)
    assert stats["totals"]["text"] == one["totals"]["text"]
    assert sorted(d.id for d in texts(batched)) == sorted(d.id for d in texts(single))
    # every input record is accounted for: kept, or rejected with a reason
    assert (stats["totals"]["text"]["passages"] + stats["rejected_total"]
            == one["totals"]["text"]["passages"] + one["rejected_total"])


def test_no_duplicate_survives_across_batches(runs):
    _, batched = runs
    kept = texts(batched)
    _, rejected = dedup_text(kept, DedupConfig())
    assert Counter(r.reason for r in rejected) == Counter()
    stats = json.loads((batched / "stats.json").read_text())
    reasons = {r["reason"] for r in stats["rejected"] if r["stage"] == "dedup"}
    assert {"exact_duplicate", "near_duplicate"} <= reasons


def test_a_killed_run_resumes_from_the_first_unfinished_batch(runs, crawl, sample_models,
                                                              tmp_path):
    _, batched = runs
    out = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "m6.cli", "corpus", *argv(sample_models, crawl, out, *BATCHED)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    second = out / WORK_DIR / "batch-00001.json"
    deadline = time.time() + 300
    while not second.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert second.exists(), "the run ended or stalled before its second batch finished"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists()
    done = subprocess.run([c for c in cmd if c != "-q"], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "batch 1: files 1-" in done.stderr and "done by an earlier run, skipped" in done.stderr
    assert files(out) == files(batched)


def test_the_cut_depends_on_the_input_only():
    from corpus.batch_plan import fits_one_batch, next_files, target_bytes
    from corpus.inputs import InputPlan

    sizes = {f"f{i}.warc.gz": s for i, s in enumerate([300, 500, 200, 900, 100])}
    plan = InputPlan(crawl=tuple(sizes), total_bytes=sum(sizes.values()), sizes=sizes)
    # 2,000 bytes at 100 a record are 20 records: 2 batches of 10, 1,000 bytes each; 7 records
    # a batch make 3 batches (20 / 7 = 2.9), 8 make 2 (2.5 rounds to 2, 0.67-1.5x the size)
    assert target_bytes(10, 2000, 100) == 1000 and target_bytes(7, 2000, 100) == 667
    assert target_bytes(8, 2000, 100) == 1000 and target_bytes(100, 2000, 100) == 2000
    assert next_files(plan, 0, 800) == 2 and next_files(plan, 2, 800) == 3
    assert next_files(plan, 3, 800) == 4  # a file larger than the target is a batch alone
    assert next_files(plan, 4, 800) == 5
    assert fits_one_batch(plan, 2, 1024) and fits_one_batch(plan, 0, 1024)
    assert not fits_one_batch(plan, 1, 1024)  # 2 records, estimated at 1 KB each
    assert fits_one_batch(plan, 14, 100) and not fits_one_batch(plan, 13, 100)  # 20 records


def test_the_first_batch_is_sized_by_the_records_of_the_first_files(crawl, monkeypatch):
    """The probe counts the records of the generated crawl's files with the crawl reader (all 4,
    since they hold fewer than ``PROBE_RECORDS``): bytes per record are the crawl's, not the 1 KB
    guess; with ``PROBE_MAX_BYTES`` below the first file's size, the guess."""
    from corpus import batch_plan
    from corpus.batch_plan import FIRST_BYTES_PER_RECORD, probe_bytes_per_record
    from corpus.config import CorpusConfig
    from corpus.inputs import plan_inputs
    from pipelines.cli import _readers

    plan = plan_inputs([str(crawl)])
    readers = _readers(CorpusConfig())
    per_record = probe_bytes_per_record(plan, readers)
    assert per_record == plan.total_bytes / PAGES  # one response record a page
    assert 1200 < per_record < 2500  # gzipped news pages, not the guess
    monkeypatch.setattr(batch_plan, "PROBE_MAX_BYTES", min(plan.sizes.values()) - 1)
    assert probe_bytes_per_record(plan, readers) == FIRST_BYTES_PER_RECORD
    # a listing has no reader: the guess
    assert probe_bytes_per_record(plan, {}) == FIRST_BYTES_PER_RECORD


def test_merged_index_parts_give_the_same_bytes_and_resume(runs, crawl, sample_models, tmp_path,
                                                           monkeypatch, capsys):
    """With every 2 index parts merged (``MERGE_PARTS``), the output is byte-identical to the run
    that looks up every part alone; a run that dies after batch 3, run again, reuses the merge
    and the batches done, with the same bytes."""
    import pipelines.batch_run as batch_run

    _, batched = runs
    monkeypatch.setattr(batch_run, "MERGE_PARTS", 2)
    out = tmp_path / "merged"
    real_write_index = batch_run.write_index

    def dies_after_batch_3(part, output, result, cfg):
        n = real_write_index(part, output, result, cfg)
        if part.endswith("part-00002"):
            raise KeyboardInterrupt("killed after batch 3")
        return n

    monkeypatch.setattr(batch_run, "write_index", dies_after_batch_3)
    loud = [a for a in argv(sample_models, crawl, out, *BATCHED) if a != "-q"]
    with pytest.raises(KeyboardInterrupt):
        main(loud)
    merged = out / WORK_DIR / "index" / "merged-00000-00001"
    assert (merged / "done").exists() and (merged / "text" / "sigs.npy").exists()
    assert not (out / WORK_DIR / "index" / "part-00000" / "text").exists()  # merged away
    assert "dedup index: parts 1-2 merged" in capsys.readouterr().err
    monkeypatch.setattr(batch_run, "write_index", real_write_index)
    assert main(loud) == 0
    log = capsys.readouterr().err
    assert log.count("done by an earlier run, skipped") == 3
    assert "merged (" not in log  # the merge of the killed run is reused
    assert files(out) == files(batched)
