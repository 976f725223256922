"""Thumbnails of the sampled pairs: real images shrink to a data: URI; a decompression bomb is
refused from its header, before its pixels are allocated."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from pathlib import Path

from PIL import Image

from report.thumbs import MAX_PIXELS, THUMB_SIDE, thumbnail_uri

FLOWER = Path(__file__).resolve().parents[1] / "fixtures" / "images" / "flower.jpg"


def _png_1bit(width: int, height: int) -> bytes:
    """A black 1-bit PNG, written row by row (Pillow would allocate it to save it)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" * (1 + (width + 7) // 8)
    z = zlib.compressobj(9)
    body = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0,
                                                              0, 0))
            + chunk(b"IDAT", body) + chunk(b"IEND", b""))


def _decoded(uri: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def test_a_real_photo_becomes_a_small_jpeg():
    with _decoded(thumbnail_uri(FLOWER.read_bytes())) as im:
        assert im.format == "JPEG" and max(im.size) == THUMB_SIDE


def test_a_small_png_claiming_many_pixels_is_not_decoded():
    """7,000 x 7,000 pixels in a few KB: under Pillow's own bomb limit (2 x 89M), so it was
    decoded (hundreds of MB for one grid cell)."""
    bomb = _png_1bit(7000, 7000)
    assert len(bomb) < 20_000 and 7000 * 7000 > MAX_PIXELS
    with Image.open(io.BytesIO(bomb)) as im:
        assert im.size == (7000, 7000)  # a valid PNG: only its size is refused
    assert thumbnail_uri(bomb) is None


def test_a_large_jpeg_is_drafted_down_and_shown_and_junk_is_none():
    buf = io.BytesIO()
    Image.new("RGB", (7000, 7000), (30, 120, 200)).save(buf, "JPEG", quality=50)
    with _decoded(thumbnail_uri(buf.getvalue())) as im:
        assert im.size == (THUMB_SIDE, THUMB_SIDE)
    assert thumbnail_uri(b"not an image") is None and thumbnail_uri(None) is None
