"""Safe decoding (corpus/images/decode.py) on Pillow's real test images and crafted bad bytes."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from corpus.images.config import DecodeConfig
from corpus.images.decode import (
    DecodeError,
    jpeg_problem,
    load_image,
    open_image,
    sniff_format,
)

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "images"
CFG = DecodeConfig()


def read(name: str) -> bytes:
    return (FIX / name).read_bytes()


def reason_of(data: bytes, cfg: DecodeConfig = CFG) -> str:
    with pytest.raises(DecodeError) as e:
        load_image(open_image(data, cfg))
    return e.value.reason


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` with a tiny compressed body."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def test_sniff_formats_from_bytes_not_names():
    assert sniff_format(read("flower.jpg")) == "JPEG"
    assert sniff_format(read("hopper.webp")) == "WEBP"
    assert sniff_format(read("hopper_resized.gif")) == "GIF"
    assert sniff_format(png_claiming(4, 4)) == "PNG"
    assert sniff_format(b"<?xml version='1.0'?><svg/>") == "SVG"
    assert sniff_format(b"  <!DOCTYPE html><html>") == "HTML"
    assert sniff_format(b"\x00\x01\x02\x03garbage") is None


def test_truncated_jpeg_is_rejected_as_truncated():
    assert jpeg_problem(read("truncated_jpeg.jpg"))[0] == "truncated"
    assert reason_of(read("truncated_jpeg.jpg")) == "truncated"


def test_junk_in_jpeg_header_is_corrupt_header():
    problem = jpeg_problem(read("junk_jpeg_header.jpg"))
    assert problem == ("corrupt_header", "5 extraneous bytes before marker 0xdb at 81")
    assert reason_of(read("junk_jpeg_header.jpg")) == "corrupt_header"


def test_junk_header_decodes_when_strictness_is_off():
    opened = open_image(read("junk_jpeg_header.jpg"), DecodeConfig(strict_jpeg=False))
    assert (opened.width, opened.height) == (1024, 768)
    assert load_image(opened).size == (1024, 768)


def test_truncation_is_rejected_even_when_not_strict():
    assert reason_of(read("truncated_jpeg.jpg"), DecodeConfig(strict_jpeg=False)) == "truncated"


def test_truncated_png_is_truncated_not_a_crash():
    buf = io.BytesIO()
    Image.open(FIX / "flower.jpg").save(buf, "PNG")
    data = buf.getvalue()
    assert reason_of(data[: len(data) // 2]) == "truncated"


@pytest.mark.parametrize("name", ["flower.jpg", "flower2.jpg", "hopper.jpg", "iptc.jpg",
                                  "exif_gps_typeerror.jpg", "hopper_16bit_qtables.jpg",
                                  "hopper.webp", "hopper_resized.gif", "hopper_gray.jpg",
                                  "sugarshack_bad_mpo_header.jpg", "app13.jpg", "exif_gps.jpg"])
def test_real_images_decode(name):
    data = read(name)
    assert jpeg_problem(data) is None or not data.startswith(b"\xff\xd8")
    opened = open_image(data, CFG)
    im = load_image(opened)
    ref = Image.open(FIX / name)
    assert im.size == ref.size == (opened.width, opened.height)


def test_decompression_bomb_is_refused_from_the_header():
    data = png_claiming(50_000, 50_000)
    assert len(data) < 200
    with pytest.raises(DecodeError) as e:
        open_image(data, CFG)  # never reaches load: nothing is allocated
    assert e.value.reason == "decompression_bomb"
    assert "2500000000 pixels" in e.value.detail


def test_pixel_limit_is_per_config():
    data = read("flower.jpg")  # 480 x 360 = 172,800 pixels
    with pytest.raises(DecodeError) as e:
        open_image(data, DecodeConfig(max_pixels=100_000))
    assert e.value.reason == "decompression_bomb"
    assert open_image(data, DecodeConfig(max_pixels=172_800)).pixels == 172_800


@pytest.mark.parametrize("data,reason", [
    (b"", "empty"),
    (b"\x00\x01\x02\x03 not an image at all", "unknown_format"),
    (b"<!doctype html><html><body>404 Not Found</body></html>", "not_an_image"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "unsupported_format"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "truncated"),
    (b"\xff\xd8\xff\xd9", "corrupt_header"),
])
def test_bad_bytes_get_a_reason(data, reason):
    assert reason_of(data) == reason


def test_too_many_bytes():
    with pytest.raises(DecodeError) as e:
        open_image(read("flower.jpg"), DecodeConfig(max_bytes=1000))
    assert e.value.reason == "too_many_bytes"


def test_exif_orientation_is_applied():
    opened = open_image(read("hopper_orientation_6.jpg"), CFG)
    assert opened.orientation == 6
    upright = np.asarray(load_image(opened).convert("RGB"), dtype=float)
    stored = np.asarray(Image.open(FIX / "hopper_orientation_6.jpg").convert("RGB"), dtype=float)
    ref = np.asarray(Image.open(FIX / "hopper.jpg").convert("RGB"), dtype=float)
    assert np.abs(upright - ref).mean() < 10  # the same picture, up to JPEG noise
    assert np.abs(stored - ref).mean() > 50  # as stored it is on its side


def test_orientation_swaps_the_reported_size():
    im = Image.open(FIX / "flower.jpg")  # 480 x 360
    exif = Image.Exif()
    exif[0x0112] = 8
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif.tobytes())
    opened = open_image(buf.getvalue(), CFG)
    assert (opened.width, opened.height) == (360, 480)
    assert load_image(opened).size == (360, 480)


def test_large_jpeg_is_decoded_at_a_reduced_dct_scale():
    big = Image.open(FIX / "flower.jpg").resize((4000, 3000))
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=90)
    opened = open_image(buf.getvalue(), CFG)
    im = load_image(opened, draft_to=(512, 384))
    assert (opened.width, opened.height) == (4000, 3000)  # the original size is kept
    assert im.size == (2000, 1500)  # the smallest 1/2^k scale at least twice the target
