"""What is stored for an image (corpus/images/normalise.py)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from corpus.images.config import NormaliseConfig
from corpus.images.normalise import normalise, target_size, to_rgb

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "images"


@pytest.mark.parametrize("size,max_side,expected", [
    ((800, 531), 512, (512, 340)), ((531, 800), 512, (340, 512)), ((100, 100), 512, (100, 100)),
    ((5000, 10), 512, (512, 1)), ((512, 300), 512, (512, 300)),
])
def test_target_size(size, max_side, expected):
    assert target_size(*size, max_side) == expected


def test_photo_is_scaled_and_reencoded_without_its_exif():
    src = Image.open(FIX / "exif_gps_typeerror.jpg")
    assert 0x8825 in src.getexif()  # the original carries a GPS block
    rgb, stored = normalise(src, NormaliseConfig())
    back = Image.open(io.BytesIO(stored.data))
    assert (stored.format, back.format) == ("JPEG", "JPEG")
    assert back.size == rgb.size == (stored.width, stored.height) == (512, 340)
    assert len(back.getexif()) == 0
    assert stored.sha256 == hashlib.sha256(stored.data).hexdigest()


def test_small_images_are_not_enlarged():
    _, stored = normalise(Image.open(FIX / "hopper.jpg"), NormaliseConfig(max_side=512))
    assert (stored.width, stored.height) == (128, 128)


@pytest.mark.parametrize("fmt", ["WEBP", "PNG", "jpeg"])
def test_configurable_format(fmt):
    _, stored = normalise(Image.open(FIX / "flower.jpg"),
                          NormaliseConfig(format=fmt, max_side=200, quality=80))
    back = Image.open(io.BytesIO(stored.data))
    assert back.format == stored.format == fmt.upper()
    assert back.size == (200, 150)


def test_unknown_format_is_a_clear_error():
    with pytest.raises(ValueError, match="images.normalise.format 'GIF'"):
        normalise(Image.open(FIX / "flower.jpg"), NormaliseConfig(format="GIF"))


def test_transparency_becomes_the_background_colour():
    rgba = Image.new("RGBA", (100, 100), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (0, 0, 50, 100))
    out = np.asarray(to_rgb(rgba))
    assert tuple(out[50, 75]) == (255, 255, 255)  # transparent -> white, not black
    assert tuple(out[50, 25]) == (0, 0, 255)
    grey = np.asarray(to_rgb(rgba, (128, 128, 128)))
    assert tuple(grey[50, 75]) == (128, 128, 128)


def test_palette_greyscale_and_16_bit_become_rgb():
    gif = Image.open(FIX / "hopper_resized.gif")
    assert gif.mode == "P"
    assert to_rgb(gif).mode == "RGB"
    assert to_rgb(Image.open(FIX / "hopper_gray.jpg")).mode == "RGB"
    ramp = Image.fromarray(np.arange(0, 65536, 256, dtype=np.uint16).reshape(16, 16))
    out = np.asarray(to_rgb(ramp))
    assert out.shape == (16, 16, 3)
    assert (out[0, 0, 0], out[15, 15, 0]) == (0, 255)  # the top 8 bits


def test_stored_bytes_are_deterministic():
    a = normalise(Image.open(FIX / "flower.jpg"), NormaliseConfig())[1]
    b = normalise(Image.open(FIX / "flower.jpg"), NormaliseConfig())[1]
    assert a.sha256 == b.sha256
