"""The manifest is the contract (README, "Outputs"): a real `m6 corpus` rerun killed with SIGKILL
leaves a folder no reader takes for a corpus, and a stray shard (duplicate ids) is refused too.

Every reader says so in one line on stderr with exit status 2 and what to do; `m6 inspect` and
`m6 report` read such a folder with --allow-incomplete and say in their output that it is
incomplete."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus.inspect import main as inspect_main
from model.data.shards import find_shards
from pipelines.dedup_against import existing_shards
from report.cli import main as report_main
from schemas.listing import IncompleteCorpus

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def killed(sample_corpus, tmp_path_factory) -> Path:
    """The sample corpus, rerun with other input and killed once the rerun has started: the
    earlier run's shards are all there, its manifest is gone."""
    out = tmp_path_factory.mktemp("killed") / "corpus"
    shutil.copytree(sample_corpus, out)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "m6.cli", "corpus", "--input", str(ROOT / "data/sample/dumps"),
         "--output", str(out), "--no-quality", "--no-report", "-q"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while (out / "manifest.json").exists() and proc.poll() is None:
            assert time.monotonic() < deadline, "m6 corpus never started its run"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert list((out / "text").glob("*.parquet")) and not (out / "manifest.json").exists()
    return out


def _one_line(err: str, prog: str, url: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: {url}: incomplete corpus: ")
    return lines[0]


@pytest.mark.slow  # a real m6 corpus run (a subprocess, or a pipeline)
def test_every_reader_refuses_a_killed_rerun(killed, capsys):
    assert inspect_main([str(killed)]) == 2
    line = _one_line(capsys.readouterr().err, "m6 inspect", str(killed))
    assert line.endswith("no manifest.json (the run writing it is still going, or was killed); "
                         "rerun 'm6 corpus' into it to complete it, or pass --allow-incomplete "
                         "to read the Parquet files that are there")
    assert inspect_main([str(killed / "text"), "--validate"]) == 2
    _one_line(capsys.readouterr().err, "m6 inspect", str(killed))
    assert inspect_main([str(killed.parent)]) == 2  # found inside a folder given
    _one_line(capsys.readouterr().err, "m6 inspect", str(killed))

    assert report_main([str(killed), "--out", str(killed.parent / "r.html"), "-q"]) == 2
    _one_line(capsys.readouterr().err, "m6 report", str(killed))
    assert not (killed.parent / "r.html").exists()

    with pytest.raises(IncompleteCorpus, match="no manifest.json"):
        find_shards([killed], "text")
    with pytest.raises(IncompleteCorpus, match="no manifest.json"):
        existing_shards([str(killed)])


@pytest.mark.slow  # a real m6 corpus run (a subprocess, or a pipeline)
def test_allow_incomplete_reads_what_is_there_and_says_so(killed, capsys):
    assert inspect_main([str(killed), "--allow-incomplete"]) == 0
    out = capsys.readouterr().out
    assert (f"WARNING: incomplete corpus {killed} (--allow-incomplete): no manifest.json"
            in out)
    assert inspect_main([str(killed), "--allow-incomplete", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["incomplete"] == [
        f"incomplete corpus {killed} (--allow-incomplete): no manifest.json (the run writing it "
        "is still going, or was killed)"]
    on_disk = sum(pq.read_metadata(p).num_rows for p in killed.glob("*/*.parquet"))
    assert report["total"]["rows"] == on_disk

    page = killed.parent / "incomplete.html"
    assert report_main([str(killed), "--allow-incomplete", "--out", str(page), "-q"]) == 0
    html = page.read_text(encoding="utf-8")
    assert f"incomplete corpus {killed} (--allow-incomplete): no manifest.json" in html


def test_a_stray_shard_with_duplicate_ids_is_refused(sample_corpus, tmp_path, capsys):
    out = tmp_path / "corpus"
    shutil.copytree(sample_corpus, out)
    shard = sorted((out / "text").glob("*.parquet"))[0]
    stray = out / "text" / "part-00000-of-00002-000.parquet"
    shutil.copy(shard, stray)  # what a killed rerun with more input leaves: the same ids again
    assert inspect_main([str(out), "--validate"]) == 2
    line = _one_line(capsys.readouterr().err, "m6 inspect", str(out))
    assert f"text/{stray.name} is not listed in manifest.json" in line
    assert report_main([str(out), "-q"]) == 2
    assert f"text/{stray.name} is not listed in manifest.json" in capsys.readouterr().err
    with pytest.raises(IncompleteCorpus, match=f"text/{stray.name} is not listed"):
        find_shards([out / "image_text"], "image_text")
    # a shard named explicitly is read as named: the user chose that file
    assert inspect_main([str(stray)]) == 0
    capsys.readouterr()
    stray.unlink()
    assert inspect_main([str(out), "--validate"]) == 0


@pytest.mark.slow  # a real m6 corpus run (a subprocess, or a pipeline)
def test_m6_corpus_refuses_an_incomplete_dedup_against_before_touching_its_output(
        killed, sample_corpus, tmp_path, capsys):
    from pipelines.cli import main as corpus_main

    out = tmp_path / "next"
    shutil.copytree(sample_corpus, out)
    argv = ["--input", str(ROOT / "data/sample/dumps"), "--output", str(out), "--no-quality",
            "--no-report", "-q"]
    assert corpus_main([*argv, "--dedup-against", str(killed)]) == 2
    line = _one_line(capsys.readouterr().err, "m6 corpus", str(killed))
    assert line.endswith("rerun 'm6 corpus' into it to complete it, or name its text/*.parquet "
                         "files")
    assert (out / "manifest.json").exists()  # refused before the output was marked incomplete
    assert corpus_main([*argv, "--dedup-against", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == (f"m6 corpus: --dedup-against {out} is the --output folder, whose shards this "
                   "run replaces; write the new run to another folder\n")
    assert (out / "manifest.json").exists()


@pytest.mark.slow  # a real m6 corpus run (a subprocess, or a pipeline)
def test_empty_inputs_give_a_complete_empty_corpus(tmp_path, capsys):
    from pipelines.cli import main as corpus_main

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.jsonl").write_bytes(b"")
    out = tmp_path / "out"
    assert corpus_main(["--input", str(tmp_path / "in"), "--output", str(out), "--no-quality",
                        "--no-report", "-q"]) == 0
    assert "Rejected: 0 records" in capsys.readouterr().out
    stats = json.loads((out / "stats.json").read_text())
    assert (stats["outputs"], stats["totals"], stats["rejected_total"]) == ([], {}, 0)
    assert json.loads((out / "manifest.json").read_text())["rows"] == \
        {"text": 0, "image_text": 0, "rejected": 0}
    assert inspect_main([str(out), "--validate"]) == 0
    assert "all 3 files match their m6 schema" in capsys.readouterr().out
