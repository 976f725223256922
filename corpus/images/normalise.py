"""What is stored for an image: RGB pixels, longer side at most ``max_side``, re-encoded.

Every kept image is re-encoded, even one that already fits: the stored bytes then have one
format and quality across the corpus (a trainer decodes one kind of file), and the EXIF block
goes away with its GPS position, camera serial and embedded thumbnail (the original's metadata is
not needed for training and is personal data). The row keeps the original's width, height,
format and SHA-256 beside the stored ones, plus a perceptual hash of the stored pixels for
near-duplicate removal (``corpus.dedup``'s image hash, so the two stages agree on what "the same
image" means).

Colour: palette, greyscale, CMYK and 16-bit images become 8-bit RGB; transparent pixels are
composited onto ``background`` (white by default, as product photos are shown), not dropped to
black as a plain ``convert("RGB")`` would. Resizing is bicubic with Pillow's reducing gap of 2.0
(``Image.thumbnail``'s defaults); images are never enlarged.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image

from corpus.images.config import NormaliseConfig

FORMATS = {"JPEG": "JPEG", "JPG": "JPEG", "WEBP": "WEBP", "PNG": "PNG"}


@dataclass(frozen=True)
class StoredImage:
    """The encoded image that goes into the ``image`` column, and its facts."""

    data: bytes
    format: str
    width: int
    height: int
    sha256: str


def target_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """``(w, h)`` with the longer side at most ``max_side``, aspect kept, never enlarged."""
    longer = max(width, height)
    if longer <= max_side:
        return width, height
    f = max_side / longer
    return max(1, round(width * f)), max(1, round(height * f))


def to_rgb(im: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """8-bit RGB, with transparency composited onto ``background``."""
    if im.mode == "RGB":
        return im
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode.startswith("I;16") or im.mode == "I":  # 16-bit grey: keep the top 8 bits
        im = im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        base = Image.new("RGB", rgba.size, background)
        base.paste(rgba, mask=rgba.getchannel("A"))
        return base
    return im.convert("RGB")


def resize(im: Image.Image, max_side: int) -> Image.Image:
    size = target_size(im.width, im.height, max_side)
    if size == im.size:
        return im
    return im.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


def encode(im: Image.Image, cfg: NormaliseConfig) -> bytes:
    fmt = FORMATS.get(cfg.format.upper())
    if fmt is None:
        raise ValueError(f"images.normalise.format {cfg.format!r} is not one of "
                         f"{sorted(set(FORMATS.values()))}")
    buf = io.BytesIO()
    if fmt == "JPEG":
        im.save(buf, "JPEG", quality=cfg.quality)
    elif fmt == "WEBP":
        im.save(buf, "WEBP", quality=cfg.quality, method=4)
    else:
        im.save(buf, "PNG", compress_level=6)
    return buf.getvalue()


def prepare(im: Image.Image, cfg: NormaliseConfig) -> Image.Image:
    """The stored pixels: RGB, scaled to ``max_side``. Quality is scored on these."""
    return resize(to_rgb(im, cfg.background), cfg.max_side)


def store(rgb: Image.Image, cfg: NormaliseConfig) -> StoredImage:
    """Encode the prepared pixels as ``cfg.format``."""
    data = encode(rgb, cfg)
    return StoredImage(data, FORMATS[cfg.format.upper()], rgb.width, rgb.height,
                       hashlib.sha256(data).hexdigest())


def normalise(im: Image.Image, cfg: NormaliseConfig) -> tuple[Image.Image, StoredImage]:
    """``prepare`` then ``store``: the RGB pixels and their encoded form."""
    rgb = prepare(im, cfg)
    return rgb, store(rgb, cfg)
