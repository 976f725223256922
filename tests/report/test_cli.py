"""``m6 report`` from the command line, and the report ``m6 corpus`` writes at the end of a run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from m6.cli import main as m6_main
from pipelines.cli import main as corpus_main

DUMP = Path(__file__).resolve().parents[2] / "data" / "sample" / "dumps" / "forum.jsonl"


def test_m6_corpus_writes_the_report_by_default(sample_corpus):
    html = (sample_corpus / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "m6 corpus report" in html
    assert "Forum discussion" in html  # a source of the sample, in Table 1


def test_no_report_writes_none_and_a_rerun_removes_the_old_one(tmp_path, capsys):
    out = tmp_path / "corpus"
    argv = ["--input", str(DUMP), "--output", str(out), "--quiet", "--no-quality"]
    assert corpus_main(argv) == 0
    printed = capsys.readouterr().out
    assert f"report: {out}/report.html" in printed and (out / "report.html").exists()
    assert corpus_main(argv + ["--no-report"]) == 0
    assert not (out / "report.html").exists()  # a stale report would describe the last run
    assert "report:" not in capsys.readouterr().out


def test_m6_report_writes_where_it_is_told_and_says_so(sample_corpus, moe_run, tmp_path, capsys):
    out = tmp_path / "deep" / "r.html"
    assert m6_main(["report", str(sample_corpus), "--out", str(out), "--run", str(moe_run)]) == 0
    assert f"report: {out}" in capsys.readouterr().out
    html = out.read_text(encoding="utf-8")
    assert 'id="training"' in html and "tiny_moe" in html
    assert not list(out.parent.glob(".*.tmp"))  # the temporary file was renamed into place


def test_m6_report_errors_are_clear(tmp_path, sample_corpus, capsys):
    assert m6_main(["report", str(tmp_path / "nope")]) == 2
    assert "no such corpus folder" in capsys.readouterr().err
    assert m6_main(["report", str(sample_corpus), "--out", str(tmp_path / "r.html"),
                    "--run", str(tmp_path)]) == 2
    assert "no metrics.jsonl" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_a_corpus_on_an_fsspec_filesystem_is_read_and_the_report_written_there(sample_corpus):
    import fsspec

    fs = fsspec.filesystem("memory")
    for path in sample_corpus.rglob("*"):
        if path.is_file() and path.suffix in (".parquet", ".json"):
            fs.pipe_file(f"/m6test/{path.relative_to(sample_corpus)}", path.read_bytes())
    try:
        assert m6_main(["report", "memory://m6test", "-q"]) == 0
        html = fs.cat_file("/m6test/report.html").decode("utf-8")
        local = (sample_corpus / "report.html").read_text(encoding="utf-8")
        # the same figures: Table 1 and the rejected chart are identical
        for marker in ('id="table1"', 'id="rejected"'):
            start = html.index(marker)
            assert html[start:html.index("</section>", start)] == \
                local[local.index(marker):local.index("</section>", local.index(marker))]
    finally:
        fs.rm("/m6test", recursive=True)


def test_a_folder_whose_name_is_not_utf8_gets_its_report(sample_corpus, tmp_path):
    """Linux names are bytes; Python hands a non-UTF-8 one over as a lone surrogate, which the
    page showed (title, header) and then failed to encode (UnicodeEncodeError)."""
    corpus = os.fsdecode(bytes(tmp_path) + b"/corpus-\xff")
    shutil.copytree(sample_corpus, corpus)
    assert m6_main(["report", corpus, "-q"]) == 0
    html = (Path(corpus) / "report.html").read_text(encoding="utf-8")
    assert "corpus-\ufffd" in html and "Forum discussion" in html


def test_an_out_that_cannot_take_a_file_is_a_clear_error(sample_corpus, tmp_path, capsys):
    """--out naming a folder, or a path under a plain file, is said in one line (exit 2), the
    folder case before the shards are read; both were tracebacks (IsADirectoryError naming the
    temporary file, NotADirectoryError)."""
    assert m6_main(["report", str(sample_corpus), "--out", str(tmp_path), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path} is a folder; give --out a file name" in err
    (tmp_path / "plain").write_text("")
    assert m6_main(["report", str(sample_corpus), "--out", str(tmp_path / "plain" / "r.html"),
                    "-q"]) == 2
    assert f"cannot write the report to {tmp_path}/plain/r.html" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]
