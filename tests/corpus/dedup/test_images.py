"""Image-text rows: exact byte copies and resized/re-encoded copies collapse to the largest image."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from corpus.dedup.config import DedupConfig
from corpus.dedup.image_hash import image_sha256, phash_hex
from corpus.dedup.images import dedup_images
from schemas import ImageTextRecord, make_id

IMAGES = Path(__file__).resolve().parents[2] / "fixtures" / "images"


def row(i: int, im: Image.Image, fmt: str = "JPEG", *, with_hash: bool = True) -> ImageTextRecord:
    buf = io.BytesIO()
    im.save(buf, fmt, quality=85) if fmt == "JPEG" else im.save(buf, fmt)
    data = buf.getvalue()
    return ImageTextRecord(
        id=make_id("webpage", f"img:{i}"), source="webpage", text=f"第{i}张图片的说明文字",
        image=data, format=fmt.lower(), width=im.width, height=im.height, orig_width=im.width,
        orig_height=im.height, sha256=image_sha256(data) if with_hash else "",
        phash=phash_hex(im) if with_hash else None, url=f"http://example.com/p{i}",
        image_url=f"http://example.com/i{i}.jpg")


def photo(name: str) -> Image.Image:
    with Image.open(IMAGES / name) as im:
        im.load()
        return im.convert("RGB")


def test_copies_collapse_to_the_largest():
    flower, hopper = photo("flower.jpg"), photo("hopper.jpg")
    big = row(1, flower)
    same_bytes = ImageTextRecord(**{**big.__dict__, "id": make_id("webpage", "img:2"),
                                    "text": "另一段说明"})
    small = row(3, flower.resize((240, 180)), "PNG", with_hash=False)  # hash from the bytes
    other = row(4, hopper)
    kept, rejected = dedup_images([small, other, same_bytes, big], DedupConfig())
    assert sorted(r.id for r in kept) == sorted([min(big.id, same_bytes.id), other.id])
    reasons = {r.id: (r.reason, r.duplicate_of, r.kind) for r in rejected}
    survivor = min(big.id, same_bytes.id)
    assert reasons[max(big.id, same_bytes.id)] == ("exact_duplicate", survivor, "image_text")
    assert reasons[small.id] == ("near_duplicate", survivor, "image_text")


def test_earlier_images_win_and_are_not_output():
    flower = photo("flower.jpg")
    old = row(1, flower)
    new = row(2, flower.resize((480 * 2, 360 * 2)))  # larger, but the earlier one is kept
    kept, rejected = dedup_images([new], DedupConfig(), existing=[old])
    assert kept == [] and [(r.id, r.duplicate_of) for r in rejected] == [(new.id, old.id)]
