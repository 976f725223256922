"""Perceptual hash: resized and re-encoded copies of real photos stay within the default
Hamming radius, different photos are far apart; block keys never miss a pair within the radius."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from PIL import Image

from corpus.dedup.config import DedupConfig
from corpus.dedup.image_hash import (
    block_keys,
    block_spans,
    hamming,
    image_sha256,
    parse_hex,
    phash_hex,
    phash_of_bytes,
)

IMAGES = Path(__file__).resolve().parents[2] / "fixtures" / "images"
PHOTOS = ["flower.jpg", "flower2.jpg", "hopper.jpg", "iptc.jpg", "sugarshack_bad_mpo_header.jpg"]


def load(name: str) -> Image.Image:
    with Image.open(IMAGES / name) as im:
        im.load()
        return im.convert("RGB")


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("name", PHOTOS)
def test_resized_and_reencoded_copies_are_close(name):
    im = load(name)
    h = phash_hex(im)
    w, hgt = im.size
    variants = [
        encode(im.resize((w // 2, hgt // 2), Image.Resampling.BILINEAR), "PNG"),
        encode(im.resize((w * 2, hgt * 2), Image.Resampling.BICUBIC), "JPEG", quality=90),
        encode(im, "JPEG", quality=30),
        encode(im, "WEBP", quality=60),
        encode(im.convert("L"), "PNG"),
    ]
    radius = DedupConfig().image_hamming
    for data in variants:
        assert hamming(h, phash_of_bytes(data)) <= radius


def test_different_photos_are_far_apart():
    hashes = [phash_hex(load(n)) for n in PHOTOS]
    for i in range(len(hashes)):
        for j in range(i + 1, len(hashes)):
            assert hamming(hashes[i], hashes[j]) > 2 * DedupConfig().image_hamming


def test_the_pillow_hopper_variants_are_one_image():
    base = phash_hex(load("hopper.jpg"))
    for other in ["hopper.webp", "hopper_gray.jpg", "hopper_16bit_qtables.jpg",
                  "hopper_resized.gif"]:
        assert hamming(base, phash_of_bytes((IMAGES / other).read_bytes())) <= 4


def test_hash_format_and_errors():
    h = phash_hex(load("hopper.jpg"))
    assert len(h) == 16 and int(h, 16) >= 0
    assert image_sha256(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    with pytest.raises(ValueError, match="cannot decode"):
        phash_of_bytes(b"not an image")
    with pytest.raises(ValueError, match="16 hex digits"):
        parse_hex("xyz")


@pytest.mark.parametrize("radius", [0, 2, 4, 6])
def test_block_keys_never_miss_a_pair_within_the_radius(radius):
    rng = random.Random(radius)
    spans = block_spans(radius)
    assert spans[0][0] == 0 and spans[-1][1] == 64 and len(spans) == radius + 1
    for _ in range(300):
        a = rng.getrandbits(64)
        b = a
        for bit in rng.sample(range(64), rng.randint(0, radius)):
            b ^= 1 << bit
        assert set(block_keys(a, radius)) & set(block_keys(b, radius))
