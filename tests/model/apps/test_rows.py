"""Tests of model/apps/rows.py: JSONL and Parquet rows, the image-level held-out split, resume."""

from __future__ import annotations

import json

import pytest

from model.apps.rows import ListStream, image_key, open_rows
from model.data.shards import StreamState, val_bucket


def test_jsonl_rows_skip_bad_lines_and_missing_images(vqa_jsonl, caplog):
    src = open_rows([vqa_jsonl])
    rows = src.rows("all", val_fraction=0.1)
    assert len(rows) == 14  # 17 lines: a missing image, a non-JSON line, a list are skipped
    assert "no_such_file.jpg not found" in caplog.text
    assert "not JSON" in caplog.text and "not a JSON object" in caplog.text
    assert all(isinstance(r["image"], bytes) and r["image"] for r in rows)
    assert rows[0]["id"] == "vqa.jsonl:1"


def test_jsonl_split_field_decides(vqa_jsonl):
    src = open_rows([vqa_jsonl])
    val = src.rows("val", val_fraction=0.0)
    assert [r["question"] for r in val] == ["花是什么颜色？", "这个人戴着什么", "字是什么颜色",
                                            "天空是什么颜色"]
    assert len(src.rows("train", val_fraction=0.0)) == 10


def test_parquet_split_holds_out_whole_images(shapes_dir):
    src = open_rows([shapes_dir])
    val = src.rows("val", val_fraction=0.1)
    train = src.rows("train", val_fraction=0.1)
    assert len(val) + len(train) == 120 and val and train
    val_images = {image_key(r) for r in val}
    assert not val_images & {image_key(r) for r in train}
    # every row the pretraining rule holds out is held out here, with the rest of its image
    assert all(r["id"] in src.val_ids(0.1) for r in train + val if val_bucket(r["id"]) < 0.1)
    assert all(sum(image_key(r) == k for r in val) == 2 for k in val_images)


def test_missing_data_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no image_text Parquet shards"):
        open_rows([tmp_path])
    with pytest.raises(ValueError, match="mix of JSONL"):
        open_rows([tmp_path / "a.jsonl", tmp_path])


def test_list_stream_resumes_exactly():
    rows = [{"id": str(i)} for i in range(7)]
    full = ListStream(rows, seed=3)
    it = iter(full)
    first = [next(it)["id"] for _ in range(10)]
    part = ListStream(rows, seed=3)
    it = iter(part)
    head = [next(it)["id"] for _ in range(4)]
    resumed = ListStream(rows, seed=3, state=StreamState.from_dict(json.loads(json.dumps(part.state().to_dict()))))
    it = iter(resumed)
    assert head + [next(it)["id"] for _ in range(6)] == first
    assert sorted(first[:7]) == sorted(r["id"] for r in rows)  # each row once per epoch
