"""Tests of model/data/image.py and model/nn/patch_encoder.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from model.config import ImageConfig
from model.data.image import ImageDecodeError, load_image, patchify
from model.nn.patch_encoder import PatchEncoder

IMAGES = Path(__file__).resolve().parents[1] / "fixtures" / "images"


def test_patchify_is_row_major():
    img = torch.arange(16.0).view(1, 1, 4, 4)
    p = patchify(img, 2)
    assert p.shape == (1, 4, 1, 2, 2)
    assert p[0, 1, 0].tolist() == [[2.0, 3.0], [6.0, 7.0]]  # top-right patch
    assert p[0, 2, 0].tolist() == [[8.0, 9.0], [12.0, 13.0]]  # bottom-left patch


def test_real_images_decode_to_normalised_squares():
    for name in ("hopper.jpg", "flower.jpg", "hopper.webp", "hopper_gray.jpg"):
        x = load_image((IMAGES / name).read_bytes(), 64)
        assert x.shape == (3, 64, 64) and x.dtype == torch.float32
        assert -2.2 < float(x.min()) and float(x.max()) < 2.7  # ImageNet-normalised range
    # EXIF orientation 6 is applied: the stored 128x128 hopper is rotated upright
    rotated = load_image((IMAGES / "hopper_orientation_6.jpg").read_bytes(), 32)
    assert not torch.allclose(rotated, load_image((IMAGES / "hopper.jpg").read_bytes(), 32), atol=0.3)


def test_truncated_jpeg_is_a_clear_error():
    with pytest.raises(ImageDecodeError, match="truncated"):
        load_image((IMAGES / "truncated_jpeg.jpg").read_bytes(), 32)
    with pytest.raises(ImageDecodeError):
        load_image(b"not an image", 32)


def test_patch_encoder_positions_make_identical_patches_differ():
    torch.manual_seed(0)
    enc = PatchEncoder(ImageConfig(image_size=32, patch_size=16, cnn_channels=(8,)), 24)
    out = enc(torch.zeros(2, 3, 32, 32))  # four identical (blank) patches
    assert out.shape == (2, 4, 24)
    assert not torch.allclose(out[0, 0], out[0, 1])  # column differs
    assert not torch.allclose(out[0, 0], out[0, 2])  # row differs
    assert torch.allclose(out[0, 0] - out[0, 1], out[0, 2] - out[0, 3])  # factorised row + column


def test_resnet50_without_torchvision_says_what_to_do(monkeypatch):
    # torchvision is not a dependency; make sure it is absent even where someone installed it
    monkeypatch.setitem(sys.modules, "torchvision", None)
    with pytest.raises(RuntimeError, match="needs torchvision.*encoder='cnn'"):
        PatchEncoder(ImageConfig(encoder="resnet50", resnet_weights="r50.pth"), 32)
