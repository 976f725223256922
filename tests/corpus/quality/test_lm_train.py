"""m6 lm train: real lmplz/build_binary models, their metadata, and the m6 lm commands."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import kenlm
import pytest

from corpus.quality import lm_cli
from corpus.quality.lm_reference import (
    load_metadata,
    percentile_of,
    text_perplexities,
    value_at,
)
from corpus.quality.lm_text import Units, char_lines
from corpus.quality.lm_train import LmTrainConfig, find_kenlm_tool, is_holdout, train_lm

ROOT = Path(__file__).resolve().parents[3]
ENCYCLOPEDIA = ROOT / "data" / "sample" / "dumps" / "encyclopedia.jsonl"
N_TRAIN_REVIEWS = 320  # as in conftest.py


def test_metadata_describes_the_model(lm_model, encyclopedia, reviews):
    meta = load_metadata(lm_model)
    assert meta["format"] == "m6-kenlm/1"
    assert (meta["order"], meta["unit"], meta["tokenizer"]) == (5, "char", None)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["created"])
    # Corpus size, recomputed independently from the same inputs and the same split.
    texts = encyclopedia + [r for r in reviews[:N_TRAIN_REVIEWS] if r.strip()]
    train = [t for t in texts if not is_holdout(t, 0.2)]
    c = meta["corpus"]
    assert c["documents"] == len(train)
    assert c["characters"] == sum(map(len, train))
    assert c["units"] == sum(n for t in train for _, n in char_lines(t))
    assert c["holdout_documents"] == len(texts) - len(train) > 20
    assert c["skipped_records"] == 3  # the dump's malformed, empty and non-object lines
    assert meta["kenlm"]["model_order"] == kenlm.Model(str(lm_model)).order == 5


def test_reference_table_is_the_heldout_distribution(lm_model, encyclopedia, reviews):
    meta = load_metadata(lm_model)
    ref = meta["reference"]
    table = ref["document_percentiles"]
    assert ref["source"] == "holdout" and len(table) == 101
    assert table == sorted(table) and table[0] > 1
    held = [t for t in encyclopedia + reviews[:N_TRAIN_REVIEWS] if t.strip()
            and is_holdout(t, 0.2)]
    model = kenlm.Model(str(lm_model))
    ppl = sorted(text_perplexities(model, Units("char"), t)[0] for t in held)
    assert ref["documents"] == len(held)
    assert table[0] == pytest.approx(ppl[0], rel=1e-4)
    assert table[100] == pytest.approx(ppl[-1], rel=1e-4)
    assert value_at(table, 50) == pytest.approx(table[50])
    assert percentile_of(table, table[30]) == pytest.approx(30, abs=0.5)


def test_tiny_corpus_needs_and_records_discount_fallback(tmp_path):
    text = tmp_path / "tiny.txt"
    text.write_text("今天天气很好\n我们去公园散步\n公园里有很多人\n", encoding="utf-8")
    meta = train_lm([text], tmp_path / "tiny.bin", LmTrainConfig(order=3, holdout=0))
    assert meta["kenlm"]["discount_fallback_used"] is True
    assert meta["reference"]["source"] == "training"
    model = kenlm.Model(str(tmp_path / "tiny.bin"))
    seen = model.score(" 今 天 天 气 很 好", True, True)
    unseen = model.score(" 好 很 气 天 天 今", True, True)
    assert seen > unseen


def test_wordpiece_unit_trains_its_tokenizer(tmp_path):
    out = tmp_path / "wp.bin"
    meta = train_lm([ENCYCLOPEDIA], out, LmTrainConfig(unit="wordpiece", wordpiece_vocab=1500))
    assert meta["unit"] == "wordpiece" and meta["tokenizer"] == "wp.bin.tokenizer.json"
    units = Units("wordpiece", str(tmp_path / meta["tokenizer"]))
    (line, n), = units.lines("黄河是中国第二长河 Yellow River")
    assert n == len(line.split()) and line.split()[0].decode() == "黄"
    assert meta["corpus"]["units"] > 20_000


def test_missing_tools_say_how_to_build_them():
    with pytest.raises(FileNotFoundError, match="make kenlm"):
        find_kenlm_tool("lmplz_not_built_here")


def test_bad_inputs_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no .txt, .jsonl or .parquet"):
        train_lm([str(tmp_path / "missing.jsonl")], tmp_path / "x.bin")
    with pytest.raises(ValueError, match="order must be 1..6"):
        LmTrainConfig(order=9)
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"text": ""}\nnot json\n', encoding="utf-8")
    with pytest.raises(ValueError, match="no text to train on"):
        train_lm([empty], tmp_path / "x.bin", LmTrainConfig(holdout=0))


def test_cli_train_score_reference(tmp_path, capsys, lm_model):
    out = tmp_path / "cli.bin"
    assert lm_cli.main(["train", "--input", str(ENCYCLOPEDIA), "--order", "4", "--unit", "char",
                        "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out} (4-gram, char units;" in printed
    assert json.loads((tmp_path / "cli.bin.json").read_text())["order"] == 4

    assert lm_cli.main(["score", "-m", str(lm_model), "-i", str(ENCYCLOPEDIA), "--head", "3"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert len(rows) == 3 and all(float(r.split()[0]) > 1 for r in rows)

    ref = tmp_path / "ref.json"
    assert lm_cli.main(["reference", "-m", str(lm_model), "-i", str(ENCYCLOPEDIA),
                        "-o", str(ref)]) == 0
    table = json.loads(ref.read_text())["reference"]["document_percentiles"]
    assert len(table) == 101 and math.isfinite(table[100])

    assert lm_cli.main(["train", "--input", str(tmp_path / "nope.txt"), "--out",
                        str(tmp_path / "n.bin")]) == 2
    assert "no .txt, .jsonl or .parquet file matches" in capsys.readouterr().err


def test_progress_is_drawn_on_a_terminal_only(tmp_path):
    """``m6 lm train`` draws a bar of the documents fed to lmplz (91: 89 trained on, 2 held
    out) and the WordPiece trainer's bars on a terminal; ``--no-progress`` and a pipe draw
    none."""
    import subprocess
    import sys

    from tests.support.terminal import run_in_terminal

    argv = [sys.executable, "-m", "m6.cli", "lm", "train", "-i", str(ENCYCLOPEDIA),
            "--order", "3", "--unit", "wordpiece", "--wordpiece-vocab", "500"]
    rc, drawn = run_in_terminal([*argv, "-o", str(tmp_path / "a.bin")], cwd=ROOT)
    assert rc == 0, drawn
    assert "lm train: documents to lmplz: 91 docs" in drawn
    assert "89 documents" in drawn and "(holdout, 2 documents)" in drawn
    assert "Compute merges" in drawn  # the tokenizers trainer's own bar
    rc, quiet = run_in_terminal([*argv, "-o", str(tmp_path / "b.bin"), "--no-progress"],
                                cwd=ROOT)
    assert rc == 0 and "89 documents" in quiet
    assert "docs/s" not in quiet and "Compute merges" not in quiet
    piped = subprocess.run([*argv, "-o", str(tmp_path / "c.bin")], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0 and "89 documents" in piped.stdout
    assert "docs/s" not in piped.stderr and "Compute merges" not in piped.stderr
