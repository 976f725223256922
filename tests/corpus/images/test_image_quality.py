"""Quality scores (corpus/images/quality.py) and the thresholds on them (filters.py)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from corpus.images.config import ImageFilterConfig
from corpus.images.filters import quality_verdict, size_verdict
from corpus.images.quality import colourfulness, entropy, jpeg_quality, score

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "images"
CFG = ImageFilterConfig()


def rgb(name: str) -> Image.Image:
    return Image.open(FIX / name).convert("RGB")


@pytest.mark.parametrize("quality", [5, 10, 25, 50, 75, 90, 95, 100])
def test_jpeg_quality_estimate_recovers_the_encoder_setting(quality):
    buf = io.BytesIO()
    rgb("flower.jpg").save(buf, "JPEG", quality=quality)
    assert jpeg_quality(Image.open(buf).quantization) == quality


def test_jpeg_quality_of_real_files():
    assert jpeg_quality(Image.open(FIX / "flower.jpg").quantization) == 75
    assert jpeg_quality(Image.open(FIX / "iptc.jpg").quantization) == 50
    # 16-bit tables with entries up to 465: a very coarse encoding
    assert jpeg_quality(Image.open(FIX / "hopper_16bit_qtables.jpg").quantization) == 13
    assert jpeg_quality(None) is None


def test_scores_of_a_photo():
    s = score(rgb("flower.jpg"), 256, Image.open(FIX / "flower.jpg").quantization)
    assert s.jpeg_quality == 75
    assert 6.5 < s.entropy < 8
    assert s.sharpness > 100
    assert 33 < s.colourfulness < 59  # "moderately" to "quite" colourful (Hasler-Suesstrunk)
    assert quality_verdict(s, CFG).keep


def test_greyscale_has_zero_colourfulness_and_is_kept_by_default():
    s = score(rgb("hopper_gray.jpg"), 256)
    assert s.colourfulness == pytest.approx(0.0, abs=1e-6)
    assert quality_verdict(s, CFG).keep
    v = quality_verdict(s, ImageFilterConfig(min_colourfulness=10))
    assert (v.keep, v.reason) == (False, "not_colourful")


def test_blurred_photo_is_blurry():
    sharp = score(rgb("flower.jpg"), 256)
    blurred = score(rgb("flower.jpg").filter(ImageFilter.GaussianBlur(4)), 256)
    assert blurred.sharpness < CFG.min_sharpness < sharp.sharpness
    v = quality_verdict(blurred, CFG)
    assert (v.keep, v.reason) == (False, "blurry")
    assert v.score == pytest.approx(blurred.sharpness, rel=1e-3)


def test_upscaled_thumbnail_is_blurry():
    im = rgb("hopper.jpg").resize((32, 32)).resize((512, 512), Image.Resampling.BICUBIC)
    assert quality_verdict(score(im, 256), CFG).reason == "blurry"


def test_flat_image_has_low_entropy():
    flat = Image.new("RGB", (300, 200), (200, 30, 30))
    assert entropy(np.asarray(flat.convert("L"))) == 0.0
    assert quality_verdict(score(flat, 256), CFG).reason == "low_entropy"


def test_text_graphic_has_low_entropy():
    # Pillow's pil_sample_rgb.jpg: the word RED on black, not a natural image
    v = quality_verdict(score(rgb("pil_sample_rgb.jpg"), 256), CFG)
    assert (v.keep, v.reason) == (False, "low_entropy")


def test_coarse_jpeg_is_low_quality():
    s = score(rgb("hopper_16bit_qtables.jpg"), 256,
              Image.open(FIX / "hopper_16bit_qtables.jpg").quantization)
    v = quality_verdict(s, CFG)
    assert (v.keep, v.reason, v.score) == (False, "low_jpeg_quality", 13.0)


def test_colourfulness_of_pure_colours():
    grey = np.full((10, 10, 3), 128, np.uint8)
    red = np.zeros((10, 10, 3), np.uint8)
    red[..., 0] = 255
    assert colourfulness(grey) == 0.0
    # rg = 255, yb = 127.5, no spread: 0.3 * sqrt(255^2 + 127.5^2)
    assert colourfulness(red) == pytest.approx(0.3 * (255**2 + 127.5**2) ** 0.5, rel=1e-5)


def test_sharpness_is_measured_at_the_analysis_size():
    small = score(rgb("exif_gps_typeerror.jpg"), 256)
    big = score(rgb("exif_gps_typeerror.jpg").resize((1600, 1062)), 256)
    assert big.sharpness == pytest.approx(small.sharpness, rel=0.25)


@pytest.mark.parametrize("w,h,reason", [
    (4, 4, "too_few_pixels"), (8, 8, "too_few_pixels"), (70, 71, "too_few_pixels"),
    (71, 71, ""), (300, 100, ""), (301, 100, "aspect_ratio"), (100, 400, "aspect_ratio"),
])
def test_size_rules(w, h, reason):
    v = size_verdict(w, h, CFG)
    assert v.reason == reason and v.keep == (reason == "")
    if reason == "too_few_pixels":
        assert v.score == w * h
