"""Tests of model/data/tokenizer.py and model/cli/tokenizer.py on the real fixture corpus."""

from __future__ import annotations

import json

import pytest
from tokenizers import Tokenizer

from model.cli.tokenizer import main as tokenizer_main
from model.data.tokenizer import SPECIAL_TOKENS, M6Tokenizer, train_tokenizer


def test_special_tokens_have_fixed_ids(tokenizer_path):
    tok = M6Tokenizer.load(tokenizer_path)
    assert [tok.id_to_token(i) for i in range(6)] == list(SPECIAL_TOKENS)
    assert (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id, tok.sep_id, tok.mask_id) == tuple(range(6))
    assert 3000 <= tok.vocab_size <= 3100  # asked for 3000; see train_tokenizer on ## forms


def test_chinese_is_one_token_per_character_and_english_is_word_pieces():
    texts = ["我们喜欢这本书", "unbelievable stories", "believable tales", "un happy"] * 20
    tok = train_tokenizer(texts, 200, min_frequency=1)
    assert tok.tokens("这本书") == ["这", "本", "书"]
    pieces = tok.tokens("Unbelievable")  # lower-cased, then cut into ## pieces
    assert len(pieces) >= 1 and pieces[0] in ("unbelievable", "un", "u")
    assert "".join(p.removeprefix("##") for p in pieces) == "unbelievable"
    assert all(p.startswith("##") for p in pieces[1:])


def test_decode_removes_the_spaces_between_cjk_characters(tokenizer_path):
    tok = M6Tokenizer.load(tokenizer_path)
    text = "这本书很好，推荐！"
    assert tok.decode(tok.encode(text)) == text
    assert tok.decode([tok.bos_id, *tok.encode("书")] + [tok.eos_id]) == "书"


def test_saved_file_counts_tokens_without_m6(tokenizer_path):
    """The corpus statistics load tokenizer.json with plain `tokenizers`: same ids."""
    plain = Tokenizer.from_file(str(tokenizer_path))
    text = "出国留学的理由是什么？回答：GPT-3 continues"
    assert plain.encode(text, add_special_tokens=False).ids == M6Tokenizer.load(tokenizer_path).encode(text)


def test_load_missing_file_says_how_to_train(tmp_path):
    with pytest.raises(FileNotFoundError, match="m6 tokenizer train"):
        M6Tokenizer.load(tmp_path / "nope.json")


def test_cli_trains_from_corpus_shards(corpus_dir, tmp_path, capsys):
    out = tmp_path / "tok.json"
    assert tokenizer_main(["train", "--input", str(corpus_dir), "--vocab-size", "500", "--out", str(out)]) == 0
    assert "700 texts" in capsys.readouterr().out  # 500 reviews, 100 poems and their 100 titles
    tok = M6Tokenizer.load(out)
    # the fixture has ~2,900 distinct characters: the alphabet cap keeps the size near 500
    assert 500 <= tok.vocab_size <= 525
    assert json.loads(out.read_text())["normalizer"]["handle_chinese_chars"] is True


def test_cli_training_draws_progress_on_a_terminal_only(corpus_dir, tmp_path):
    """The tokenizers trainer's bars (700 texts pre-processed) on a terminal; none with
    --no-progress."""
    import sys
    from pathlib import Path

    from tests.support.terminal import run_in_terminal

    root = Path(__file__).resolve().parents[2]
    argv = [sys.executable, "-m", "m6.cli", "tokenizer", "train", "--input", str(corpus_dir),
            "--vocab-size", "500"]
    rc, drawn = run_in_terminal([*argv, "--out", str(tmp_path / "a.json")], cwd=root)
    assert rc == 0 and "trained WordPiece on 700 texts" in drawn, drawn
    assert "Pre-processing sequences" in drawn and "Compute merges" in drawn
    rc, quiet = run_in_terminal([*argv, "--out", str(tmp_path / "b.json"), "--no-progress"],
                                cwd=root)
    assert rc == 0 and "trained WordPiece on 700 texts" in quiet
    assert "Pre-processing" not in quiet and "Compute merges" not in quiet


def test_cli_without_shards_says_what_to_do(tmp_path, capsys):
    assert tokenizer_main(["train", "--input", str(tmp_path), "--out", str(tmp_path / "t.json")]) == 2
    assert "make corpus" in capsys.readouterr().err


def test_tokenizer_train_on_a_file_that_is_not_parquet_is_one_line(tmp_path, capsys):
    from model.cli.tokenizer import main

    bad = tmp_path / "shard.parquet"
    bad.write_text("hello")
    assert main(["train", "--input", str(bad), "--out", str(tmp_path / "tok.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("m6 tokenizer: ") and err.count("\n") == 1
    assert "Parquet" in err and not (tmp_path / "tok.json").exists()


def test_pretrain_on_a_file_that_is_not_parquet_is_one_line(tmp_path, capsys):
    from model.cli.pretrain import main

    bad = tmp_path / "shard.parquet"
    bad.write_text("hello")
    args = ["--preset", "tiny", "--data", str(bad), "--output", str(tmp_path / "run"),
            "--steps", "1", "--no-progress"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("m6 pretrain: ") and "Parquet" in err[0]
