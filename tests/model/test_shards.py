"""Tests of model/data/shards.py: disjoint readers, the id-hash split, windowed shuffle, exact resume."""

from __future__ import annotations

import itertools
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from model.data.shards import RowStream, StreamState, find_shards, plan_pieces, val_bucket
from schemas.arrow import REJECTED_SCHEMA


def _epoch_ids(pieces, shard_id, n_shards, **kw):
    s = RowStream(pieces, columns=["text"], shard_id=shard_id, n_shards=n_shards, loop=False, **kw)
    return [r["id"] for r in s]


def test_find_shards_takes_the_kind_folder_and_skips_other_kinds(corpus_dir, tmp_path):
    text = find_shards([corpus_dir], "text")
    image = find_shards([corpus_dir], "image_text")
    assert len(text) == 3 and all("/text/" in f for f in text)
    assert len(image) == 2
    # a rejected shard lying among text shards is never read as text
    bad = tmp_path / "rejected-00000.parquet"
    pq.write_table(pa.Table.from_pylist([], schema=REJECTED_SCHEMA), bad)
    assert find_shards([tmp_path, *text], "text") == text


@pytest.mark.parametrize("n_shards", [2, 3, 40])  # 40 readers > 12 row groups: row mode
def test_readers_see_every_row_once_per_epoch(corpus_dir, n_shards):
    pieces = plan_pieces(find_shards([corpus_dir], "text"))
    assert len(pieces) == 12  # 3 files of 200 rows in row groups of 64, 64, 64, 8
    all_ids = [r for p in pieces for r in pq.ParquetFile(p.path).read_row_group(p.row_group, columns=["id"]).column("id").to_pylist()]
    seen = []
    for k in range(n_shards):
        ids = _epoch_ids(pieces, k, n_shards, seed=3, window=50)
        assert ids, f"reader {k} got nothing"
        seen += ids
    assert len(seen) == len(all_ids) == 600
    assert sorted(seen) == sorted(all_ids)


def test_train_and_val_split_by_id_hash(corpus_dir):
    pieces = plan_pieces(find_shards([corpus_dir], "text"))
    val = _epoch_ids(pieces, 0, 1, split="val", val_fraction=0.1, shuffle=False)
    train = _epoch_ids(pieces, 0, 1, split="train", val_fraction=0.1, shuffle=False)
    assert not set(val) & set(train)
    assert len(val) + len(train) == 600
    assert 30 <= len(val) <= 90  # about 10%
    assert all(val_bucket(i) < 0.1 for i in val)
    # the same rows are held out whatever the sharding
    val2 = _epoch_ids(pieces, 0, 2, split="val", val_fraction=0.1) + _epoch_ids(pieces, 1, 2, split="val", val_fraction=0.1)
    assert sorted(val2) == sorted(val)


def test_shuffle_changes_order_between_epochs_but_not_between_runs(corpus_dir):
    pieces = plan_pieces(find_shards([corpus_dir], "text"))

    def first(n, seed):
        s = RowStream(pieces, columns=["text"], seed=seed, window=64)
        return [r["id"] for r in itertools.islice(s, n)]

    run1, run2 = first(1200, 7), first(1200, 7)
    assert run1 == run2
    epoch0, epoch1 = run1[:600], run1[600:]
    assert sorted(epoch0) == sorted(epoch1) and epoch0 != epoch1
    assert first(600, 8) != epoch0


@pytest.mark.parametrize("stop", [1, 63, 64, 65, 599, 600, 777])
def test_resume_from_state_continues_exactly(corpus_dir, stop):
    pieces = plan_pieces(find_shards([corpus_dir], "text"))
    kw = dict(columns=["text"], shard_id=1, n_shards=2, seed=5, window=64, split="train",
              val_fraction=0.05)
    whole = [r["id"] for r in itertools.islice(RowStream(pieces, **kw), 800)]
    s = RowStream(pieces, **kw)
    it = iter(s)
    head = [next(it)["id"] for _ in range(stop)]
    state = StreamState.from_dict(json.loads(json.dumps(s.state().to_dict())))  # as stored
    tail = [r["id"] for r in itertools.islice(RowStream(pieces, state=state, **kw), 800 - stop)]
    assert head + tail == whole


def test_resume_at_the_end_of_a_one_window_epoch_goes_on_to_the_next(corpus_dir):
    pieces = plan_pieces(find_shards([corpus_dir], "text"))[:1]  # 64 rows: one window per epoch
    kw = dict(columns=["text"], seed=5, window=1024)
    whole = [r["id"] for r in itertools.islice(RowStream(pieces, **kw), 100)]
    s = RowStream(pieces, **kw)
    head = [r["id"] for r in itertools.islice(s, 64)]
    assert s.state() == StreamState(epoch=0, window=0, cursor=0, index=64)
    tail = [r["id"] for r in itertools.islice(RowStream(pieces, state=s.state(), **kw), 36)]
    assert head + tail == whole
    assert StreamState.from_dict({"epoch": 2}) == StreamState(epoch=2)
    with pytest.raises(ValueError, match=r"unknown fields \['row'\]"):
        StreamState.from_dict({"epoch": 2, "row": 5})
    assert len(set(head)) == 64 and set(tail) <= set(head) and tail != head[:36]  # epoch 1


def test_a_reader_with_no_rows_fails_with_advice(corpus_dir):
    pieces = plan_pieces(find_shards([corpus_dir], "text"))[:1]  # 64 rows
    s = RowStream(pieces, columns=["text"], shard_id=99, n_shards=100)
    with pytest.raises(ValueError, match="fewer ranks or data-loader workers"):
        next(iter(s))


def test_image_text_1_0_and_2_0_shards_give_the_same_rows(corpus_dir, tmp_path):
    """The trainer and the applications read ``image`` as bytes from image_text 2.0 shards (the
    Hugging Face struct) and from 1.0 shards (plain binary) alike."""
    from schemas.arrow import IMAGE_TEXT_SCHEMA_V1
    from schemas.image_column import with_image_bytes

    files = find_shards([corpus_dir], "image_text")
    assert pq.read_schema(files[0]).field("image").type == pa.struct(
        [("bytes", pa.binary()), ("path", pa.string())])
    old = []
    for i, f in enumerate(files):
        path = tmp_path / f"image_text-{i:05d}.parquet"
        pq.write_table(with_image_bytes(pq.read_table(f)).cast(IMAGE_TEXT_SCHEMA_V1), path,
                       row_group_size=pq.ParquetFile(f).metadata.row_group(0).num_rows)
        old.append(str(path))

    def rows(paths):
        return list(RowStream(plan_pieces(paths), columns=["text", "image"], loop=False,
                              shuffle=False))

    new_rows, old_rows = rows(files), rows(old)
    assert len(new_rows) == len(old_rows) > 0
    assert new_rows == old_rows
    assert all(isinstance(r["image"], bytes) and r["image"][:2] in (b"\xff\xd8", b"\x89P", b"RI",
                                                                    b"GI")
               for r in new_rows)
