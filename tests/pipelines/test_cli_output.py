"""`m6 corpus` refuses an output folder it cannot write before any work (pipelines/cli.py)."""

from __future__ import annotations

from pathlib import Path

from pipelines.cli import main, output_problem

DUMP = Path(__file__).resolve().parents[2] / "data" / "sample" / "dumps" / "forum.jsonl"


def test_an_output_under_a_file_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "a-file").write_text("x")
    out = tmp_path / "a-file" / "corpus"
    assert main(["--input", str(DUMP), "--output", str(out), "--quiet", "--no-report"]) == 2
    assert capsys.readouterr().err == (f"m6 corpus: --output {out}: cannot write there "
                                       f"({tmp_path / 'a-file'} is a file, not a folder)\n")
    assert output_problem(str(tmp_path / "a-file")) == (
        f"cannot write there ({tmp_path / 'a-file'} is a file, not a folder)")


def test_a_new_output_is_fine_and_not_created_by_the_check(tmp_path):
    out = tmp_path / "new" / "corpus"
    assert output_problem(str(out)) is None
    assert not (tmp_path / "new").exists()
