"""Tests of model/apps/shapes.py: the synthetic set is deterministic, valid against the corpus
schema, and its texts and answers say what the pixels show."""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow.parquet as pq
from PIL import Image

from model.apps.shapes import BACKGROUNDS, COLOURS, build
from schemas.validate import validate_table


def test_deterministic_and_valid(shapes_dir, tmp_path):
    build(tmp_path, n_images=60, seed=3)
    a = pq.read_table(shapes_dir / "image_text" / "shapes-00000.parquet")
    b = pq.read_table(tmp_path / "image_text" / "shapes-00000.parquet")
    assert a.equals(b) and a.num_rows == 120
    validate_table(a, "image_text")
    assert (shapes_dir / "vqa.jsonl").read_bytes() == (tmp_path / "vqa.jsonl").read_bytes()


def test_texts_and_answers_match_the_pixels(shapes_dir):
    qa = [json.loads(x) for x in (shapes_dir / "vqa.jsonl").read_text().splitlines()]
    assert len(qa) == 240 and {q["type"] for q in qa} == {"color", "shape", "number", "background"}
    by_image: dict[str, dict[str, str]] = {}
    for q in qa:
        by_image.setdefault(q["image"], {})[q["type"]] = q["answer"]
    rows = pq.read_table(shapes_dir / "image_text" / "shapes-00000.parquet",
                         columns=["text", "image"]).to_pylist()
    for i, (path, ans) in enumerate(sorted(by_image.items())):
        px = np.asarray(Image.open(shapes_dir / path).convert("RGB"), dtype=np.int32)
        corner = px[0, 0]
        assert np.abs(corner - BACKGROUNDS[ans["background"]]).max() < 20
        # the most common pixel that is far from the background has the shape's colour
        fg = px[np.abs(px - corner).sum(-1) > 120]
        mean = fg.mean(0)
        nearest = min(COLOURS, key=lambda c: np.abs(mean - COLOURS[c]).sum())
        assert nearest == ans["color"], (path, mean, ans)
        texts = [r["text"] for r in rows[2 * i : 2 * i + 2]]
        assert Image.open(io.BytesIO(rows[2 * i]["image"]["bytes"])).size == (64, 64)  # HF struct
        assert all(ans["color"] in t and ans["shape"] in t and ans["background"] in t
                   for t in texts)
        assert ans["number"] in texts[1]
    held = {q["image"] for q in qa if q["split"] == "val"}
    assert 0 < len(held) < len(by_image)


def test_vqa_holds_out_the_images_the_parquet_rows_hold_out(shapes_dir):
    import hashlib

    from model.apps.rows import open_rows

    val_parquet = {r["sha256"] for r in open_rows([shapes_dir]).rows("val", val_fraction=0.1)}
    qa = [json.loads(x) for x in (shapes_dir / "vqa.jsonl").read_text().splitlines()]
    val_vqa = {hashlib.sha256((shapes_dir / q["image"]).read_bytes()).hexdigest()
               for q in qa if q["split"] == "val"}
    assert val_vqa == val_parquet and val_vqa
