"""Image bytes -> a normalised square tensor -> a grid of patches (paper section 3.1).

The corpus stores each image's encoded bytes (JPEG/PNG/WebP) in the ``image`` column of the
``image_text`` shards. Here an image is decoded with Pillow, turned upright by its EXIF
orientation, resized so the shorter side is ``size`` and centre-cropped to a square (so objects
keep their aspect ratio), scaled to [0, 1] and normalised with the ImageNet mean and standard
deviation that ResNet-50 weights expect. ``patchify`` cuts the square into a row-major grid.

A file Pillow cannot decode raises ``ImageDecodeError`` with the reason; the data loader skips
that sample and counts it, so one bad image never stops a run.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image, ImageOps

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageDecodeError(ValueError):
    """The bytes are not an image Pillow can decode completely."""


def load_image(data: bytes, size: int) -> torch.Tensor:
    """Decode ``data`` to a (3, size, size) float32 tensor, normalised for ImageNet weights."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            im = ImageOps.exif_transpose(im).convert("RGB")
    except Exception as e:  # Pillow raises OSError, SyntaxError, ValueError, ... on bad files
        raise ImageDecodeError(f"cannot decode image ({type(e).__name__}: {e})") from e
    w, h = im.size
    scale = size / min(w, h)
    im = im.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BICUBIC)
    w, h = im.size
    left, top = (w - size) // 2, (h - size) // 2
    im = im.crop((left, top, left + size, top + size))
    return normalize(torch.from_numpy(np.asarray(im, dtype=np.uint8).copy()))


def normalize(pixels_HWC: torch.Tensor) -> torch.Tensor:
    """uint8 (H, W, 3) -> float32 (3, H, W) with ImageNet mean and std."""
    x = pixels_HWC.permute(2, 0, 1).float().div_(255.0)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (x - mean) / std


def load_image_file(path: str, size: int) -> torch.Tensor:
    with open(path, "rb") as f:
        return load_image(f.read(), size)


def patchify(images_BCHW: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, P, C, patch, patch), patches in row-major order (P = (H/p)(W/p))."""
    b, c, h, w = images_BCHW.shape
    if h % patch or w % patch:
        raise ValueError(f"image {h}x{w} is not a whole number of {patch}-pixel patches")
    x = images_BCHW.reshape(b, c, h // patch, patch, w // patch, patch)
    x = x.permute(0, 2, 4, 1, 3, 5)  # B, rows, cols, C, p, p
    return x.reshape(b, (h // patch) * (w // patch), c, patch, patch)
