"""JSON-lines image listings (corpus/images/listing.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from corpus.images.confine import resolve, roots_for
from corpus.images.listing import ReadListingFile, load_file, parse_line
from corpus.images.records import ImagePair
from corpus.stage import split

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "images"


def write_listing(folder: Path, lines: list[str]) -> str:
    (folder / "img").mkdir()
    shutil.copy(FIX / "flower.jpg", folder / "img" / "flower.jpg")
    path = folder / "listing.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_listing_lines_become_pairs_or_reasons(tmp_path):
    lines = [
        json.dumps({"image": "img/flower.jpg", "text": "春天盛开的花朵 鲜花绿植盆栽",
                    "url": "https://shop.example.cn/item/1", "title": "鲜花"},
                   ensure_ascii=False),
        json.dumps({"image_url": "https://img.example.cn/p/2.jpg", "description": "手工紫砂壶",
                    "id": "sku-2"}, ensure_ascii=False),
        "",
        "{not json",
        json.dumps({"text": "没有图片"}, ensure_ascii=False),
        json.dumps({"image": "img/flower.jpg"}),
        json.dumps({"image": "img/flower.jpg", "text": "论坛", "source": "forum"},
                   ensure_ascii=False),
        json.dumps(["a", "list"]),
    ]
    path = write_listing(tmp_path, lines)
    kept, rejected = split(ReadListingFile().run([path]))
    assert len(kept) == 2
    a, b = kept
    assert isinstance(a, ImagePair)
    assert (a.source, a.text, a.title, a.url) == (
        "ecommerce", "春天盛开的花朵 鲜花绿植盆栽", "鲜花", "https://shop.example.cn/item/1")
    assert a.image_path == str(tmp_path / "img" / "flower.jpg") and a.image_url is None
    assert (a.input_file, a.offset, a.from_listing) == (path, 1, True)
    assert (b.image_url, b.image_path, b.text) == ("https://img.example.cn/p/2.jpg", None,
                                                   "手工紫砂壶")
    assert [(r.reason, r.offset) for r in rejected] == [
        ("bad_json", 4), ("no_image", 5), ("no_text", 6), ("bad_source", 7), ("bad_json", 8)]
    assert all(r.kind == "image_text" and r.stage == "read_listing" for r in rejected)


def test_ids_are_stable_and_keyed_by_id_when_given(tmp_path):
    path = write_listing(tmp_path, [json.dumps({"image": "img/flower.jpg", "text": "花朵花朵",
                                                "id": "sku-1"}, ensure_ascii=False)])
    a = list(ReadListingFile().run([path]))[0]
    b = parse_line(json.dumps({"image": "other.jpg", "text": "x", "id": "sku-1"}), 9, "/y.jsonl")
    assert a.id == b.id  # the listing's own id decides, not the line or the file


def test_resolve():
    assert resolve("img/a.jpg", "/data/shop/listing.jsonl") == "/data/shop/img/a.jpg"
    assert resolve("/abs/a.jpg", "/data/listing.jsonl") == "/abs/a.jpg"
    assert resolve("https://x.cn/a.jpg", "/data/listing.jsonl") == "https://x.cn/a.jpg"
    assert resolve("img/a.jpg", "s3://bucket/shop/l.jsonl") == "s3://bucket/shop/img/a.jpg"


def test_unreadable_listing_is_one_rejected_row(tmp_path):
    out = list(ReadListingFile().run([str(tmp_path / "missing.jsonl")]))
    assert [(r.reason, r.stage) for r in out] == [("unreadable_file", "read_listing")]


def test_load_file(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"\xff\xd8\xff" + b"x" * 100)
    roots = roots_for(str(tmp_path / "listing.jsonl"))
    assert load_file(str(tmp_path / "a.jpg"), 1000, roots) == (b"\xff\xd8\xff" + b"x" * 100, "ok")
    assert load_file(str(tmp_path / "a.jpg"), 50, roots) == (None, "file_too_large")
    assert load_file(str(tmp_path / "nope.jpg"), 1000, roots) == (None, "file_not_found")
