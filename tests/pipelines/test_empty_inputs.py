"""``m6 corpus`` over inputs that are all empty (an empty WARC, an empty dump, a dump of blank
lines): an empty, complete corpus with zero counts and exit 0, never a traceback."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from corpus.stats import compute_stats, format_table
from pipelines.cli import main as corpus_main


@pytest.mark.slow  # a whole Beam run (~10 s)
def test_all_empty_inputs_give_an_empty_complete_corpus(tmp_path, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "crawl.warc.gz").write_bytes(b"")
    (inputs / "forum.jsonl").write_bytes(b"")
    (inputs / "community_qa.jsonl").write_bytes(b"\n  \n")
    out = tmp_path / "out"
    assert corpus_main(["--input", str(inputs), "--output", str(out), "--quiet",
                        "--no-report"]) == 0
    printed = capsys.readouterr()
    assert "Traceback" not in printed.err
    assert format_table(compute_stats([])) in printed.out
    stats = json.loads((out / "stats.json").read_text())
    zero = {"html": 0, "images": 0, "kept": 0, "records": 0, "rejected": {}}
    assert stats == {**compute_stats([]), "inputs": {
        "crawl": {"files": 1, **zero, "skipped": {}},
        "dumps": {"files": 2, **zero, "skipped": {"blank_line": 2}}}}
    assert stats["rejected_total"] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rows"] == {"text": 0, "image_text": 0, "rejected": 0}
    for files in manifest["files"].values():
        assert [pq.read_table(out / f["path"]).num_rows for f in files] == [0]
