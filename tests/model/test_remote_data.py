"""m6 pretrain --data URL: a corpus on an fsspec filesystem (memory:// here, s3:// or gs:// in
use) is listed from its manifest and streamed from its URLs, and trains exactly as the same corpus
on local disk; an incomplete one is refused before training starts."""

from __future__ import annotations

import json

import fsspec
import pytest

from m6.cli import main as m6_main
from model.data.shards import find_shards
from schemas.listing import IncompleteCorpus


def pretrain_main(args: list[str]) -> int:
    return m6_main(["pretrain", *args])


@pytest.fixture
def memory_corpus(corpus_dir):
    fs = fsspec.filesystem("memory")
    fs.put(str(corpus_dir), "/remote-data/corpus", recursive=True)
    yield "memory://remote-data/corpus"
    fs.rm("/remote-data", recursive=True)


def _train(data: str, tokenizer, out) -> list[float]:
    # Data-loader workers 0: a memory:// filesystem lives in this process only.
    args = ["--preset", "tiny", "--data", data, "--output", str(out), "--tokenizer",
            str(tokenizer), "--steps", "2", "--batch-size", "2", "--val-every", "0",
            "--ckpt-every", "0", "--workers", "0", "--seed", "3", "--no-progress"]
    assert pretrain_main(args) == 0
    lines = (out / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    return [r["loss"] for r in records if r.get("kind") == "train"]


def test_two_steps_from_memory_equal_two_steps_from_disk(memory_corpus, corpus_dir,
                                                         tokenizer_path, tmp_path):
    remote = find_shards([memory_corpus], "text")
    local = find_shards([corpus_dir], "text")
    assert [u.rsplit("/", 1)[-1] for u in remote] == [p.rsplit("/", 1)[-1] for p in local]
    assert all(u.startswith("memory:///remote-data/corpus/text/") for u in remote)
    assert find_shards([memory_corpus + "/image_text"], "text") == []

    from_memory = _train(memory_corpus, tokenizer_path, tmp_path / "memory")
    from_disk = _train(str(corpus_dir), tokenizer_path, tmp_path / "disk")
    assert len(from_memory) == 2 and from_memory == from_disk


def test_pretrain_refuses_an_incomplete_corpus_in_one_line(memory_corpus, tokenizer_path,
                                                           tmp_path, capsys):
    fsspec.filesystem("memory").rm("/remote-data/corpus/manifest.json")
    with pytest.raises(IncompleteCorpus):
        find_shards([memory_corpus], "image_text")
    args = ["--preset", "tiny", "--data", memory_corpus, "--output", str(tmp_path / "run"),
            "--steps", "1", "--no-progress"]
    assert pretrain_main(args) == 2
    err = capsys.readouterr().err
    assert err == (f"m6 pretrain: {memory_corpus}: incomplete corpus: no manifest.json (the run "
                   "writing it is still going, or was killed); rerun 'm6 corpus' into it to "
                   "complete it\n")
