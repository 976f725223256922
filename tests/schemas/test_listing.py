"""schemas/listing.py: a corpus folder's shards come from its manifest, locally and through fsspec;
an incomplete folder is refused with one line that says what to do."""

from __future__ import annotations

import shutil

import fsspec
import pyarrow.parquet as pq
import pytest

from schemas.layout import KINDS, MANIFEST_FILE
from schemas.listing import RERUN, IncompleteCorpus, corpus_folder, parquet_file


@pytest.fixture
def copy(sample_corpus, tmp_path):
    out = tmp_path / "corpus"
    shutil.copytree(sample_corpus, out)
    return out


def test_a_complete_folder_lists_its_manifest_and_a_kind_folder_only_its_kind(copy):
    folder = corpus_folder(str(copy))
    assert folder is not None and folder.complete and folder.kinds == KINDS
    for kind in KINDS:
        assert folder.shards(kind) == sorted(str(p) for p in (copy / kind).glob("*.parquet"))
    sub = corpus_folder(str(copy / "image_text") + "/")
    assert sub.url == str(copy) and sub.kinds == ("image_text",)
    assert sub.shards("text") == [] and sub.shards("image_text") == folder.shards("image_text")


def test_folders_that_are_not_corpus_folders(tmp_path, copy):
    assert corpus_folder(str(tmp_path / "missing")) is None
    assert corpus_folder(str(copy / "text" / "part-00000-of-00001-000.parquet")) is None
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy(next((copy / "text").glob("*.parquet")), plain / "a.parquet")
    assert corpus_folder(str(plain)) is None


def test_an_unlisted_shard_is_refused_and_allow_incomplete_reads_it(copy):
    shard = next((copy / "text").glob("*.parquet"))
    stray = copy / "text" / "part-00000-of-00009-000.parquet"  # a killed run's name
    shutil.copy(shard, stray)
    folder = corpus_folder(str(copy))
    assert not folder.complete
    with pytest.raises(IncompleteCorpus) as e:
        folder.shards("text")
    assert str(e.value) == (
        f"{copy}: incomplete corpus: text/part-00000-of-00009-000.parquet is not listed in "
        f"manifest.json (a shard of an earlier or killed run); {RERUN}")
    # every kind of the folder is refused, not only the one with the stray shard
    with pytest.raises(IncompleteCorpus):
        folder.shards("rejected")
    assert str(stray) in folder.shards("text", allow_incomplete=True)
    assert folder.note().startswith(f"incomplete corpus {copy} (--allow-incomplete): text/part-")


def test_missing_manifest_missing_shard_and_broken_manifest(copy):
    shard = sorted((copy / "rejected").glob("*.parquet"))[0]
    shard.unlink()
    folder = corpus_folder(str(copy))
    assert folder.problems == (f"rejected/{shard.name} is listed in manifest.json but missing",)
    assert shard.name not in " ".join(folder.shards("rejected", allow_incomplete=True))

    (copy / MANIFEST_FILE).write_text('{"files": {"text": [{"path": "/etc/x.parquet"}]}}')
    assert corpus_folder(str(copy)).problems[0].startswith(
        "manifest.json is not an m6 manifest (no entry for image_text, rejected)")
    (copy / MANIFEST_FILE).unlink()
    with pytest.raises(IncompleteCorpus, match=r"incomplete corpus: no manifest.json \(the run "
                                               r"writing it is still going, or was killed\)"):
        corpus_folder(str(copy / "text")).shards("text")


def test_a_corpus_on_an_fsspec_filesystem_is_listed_and_read_from_its_urls(sample_corpus):
    fs = fsspec.filesystem("memory")
    try:
        fs.put(str(sample_corpus), "/listing-test/corpus", recursive=True)
        folder = corpus_folder("memory://listing-test/corpus")
        assert folder.complete
        urls = folder.shards("text")
        assert urls == [f"memory://listing-test/corpus/text/{p.name}"
                        for p in sorted((sample_corpus / "text").glob("*.parquet"))]
        rows = sum(parquet_file(u).metadata.num_rows for u in urls)
        assert rows == folder.manifest.rows["text"] == pq.read_table(
            sample_corpus / "text").num_rows
        fs.rm("/listing-test/corpus/manifest.json")
        with pytest.raises(IncompleteCorpus, match="^memory://listing-test/corpus: incomplete"):
            corpus_folder("memory://listing-test/corpus").shards("text")
    finally:
        fs.rm("/listing-test", recursive=True)
