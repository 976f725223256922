"""Images of the sample crawl: real photos from Pillow's test suite (HPND) and images drawn here
with Pillow and numpy (seeded, so every run writes the same bytes)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

PILLOW_DIR = Path("/work/shared/data/images/pillow")

# --------------------------------------------------------------------------------------------
# Images: Pillow test photos and images drawn here
# --------------------------------------------------------------------------------------------


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _gradient(w: int, h: int, c0, c1, horizontal: bool = True) -> np.ndarray:
    t = np.linspace(0.0, 1.0, w if horizontal else h, dtype=np.float32)
    c0, c1 = np.array(c0, np.float32), np.array(c1, np.float32)
    line = (c0[None, :] * (1 - t[:, None]) + c1[None, :] * t[:, None]).astype(np.uint8)
    if horizontal:
        return np.broadcast_to(line[None, :, :], (h, w, 3)).copy()
    return np.broadcast_to(line[:, None, :], (h, w, 3)).copy()


def generated_images() -> dict[str, tuple[bytes, str, int, int]]:
    """name -> (bytes, mime, width, height) for every image drawn here (seeded, deterministic)."""
    rng = np.random.default_rng(20240520)
    out: dict[str, tuple[bytes, str, int, int]] = {}

    def add(name: str, im: Image.Image, fmt: str, mime: str, **kw) -> None:
        out[name] = (_encode(im, fmt, **kw), mime, im.width, im.height)

    # tea: warm vertical gradient with a cup-like ellipse (served as webp 960w, jpeg 480w)
    arr = _gradient(960, 640, (238, 226, 196), (120, 150, 90), horizontal=False)
    im = Image.fromarray(arr)
    d = ImageDraw.Draw(im)
    d.ellipse((330, 220, 630, 520), fill=(250, 250, 245), outline=(90, 80, 60), width=6)
    d.ellipse((370, 250, 590, 330), fill=(170, 190, 90))
    add("tea_gradient-960", im, "WEBP", "image/webp", quality=60, method=0)
    add("tea_gradient-480", im.resize((480, 320)), "JPEG", "image/jpeg", quality=70)
    # desert: dunes and camels as shapes
    im = Image.fromarray(_gradient(640, 400, (250, 210, 140), (200, 140, 70), horizontal=False))
    d = ImageDraw.Draw(im)
    for i in range(5):
        x = 60 + i * 110
        d.ellipse((x, 250, x + 70, 300), fill=(110, 70, 40))
        d.rectangle((x + 15, 290, x + 22, 340), fill=(90, 60, 30))
        d.rectangle((x + 50, 290, x + 57, 340), fill=(90, 60, 30))
    d.polygon([(0, 400), (200, 300), (420, 400)], fill=(230, 180, 110))
    add("desert_shapes", im, "PNG", "image/png", optimize=True)
    # stars: sparse noise on black (compresses well as PNG)
    arr = np.zeros((300, 400, 3), np.uint8)
    ys, xs = rng.integers(0, 300, 400), rng.integers(0, 400, 400)
    arr[ys, xs] = rng.integers(150, 256, (400, 1), dtype=np.uint8)
    add("noise_stars", Image.fromarray(arr), "PNG", "image/png", optimize=True)
    # leaf: green gradient and a leaf polygon
    im = Image.fromarray(_gradient(480, 360, (30, 90, 30), (160, 220, 120)))
    d = ImageDraw.Draw(im)
    d.polygon([(60, 300), (240, 40), (420, 300), (240, 340)], fill=(40, 140, 50))
    d.line((70, 300, 410, 300), fill=(200, 230, 160), width=4)
    add("leaf_green", im, "JPEG", "image/jpeg", quality=75)
    # tomato and egg: circles on a board, served through <picture>
    im = Image.new("RGB", (800, 600), (222, 200, 160))
    d = ImageDraw.Draw(im)
    for i in range(6):
        x, y = 80 + (i % 3) * 220, 100 + (i // 3) * 220
        d.ellipse((x, y, x + 160, y + 140), fill=(200, 30 + i * 8, 20))
    d.ellipse((300, 420, 520, 560), fill=(250, 210, 60))
    add("tomato_shapes-800", im, "JPEG", "image/jpeg", quality=70)
    add("tomato_shapes-400", im.resize((400, 300)), "JPEG", "image/jpeg", quality=70)
    # a screenshot-like image: window frame and list rows
    im = Image.new("RGB", (640, 420), (245, 245, 245))
    d = ImageDraw.Draw(im)
    d.rectangle((0, 0, 639, 36), fill=(40, 90, 160))
    for i in range(8):
        d.rectangle((20, 56 + i * 42, 620, 88 + i * 42), outline=(180, 180, 180),
                    fill=(255, 255, 255) if i % 2 else (235, 240, 250))
        d.rectangle((560, 64 + i * 42, 606, 80 + i * 42), fill=(60, 160, 80) if i % 3 else (200, 60, 60))
    add("screen_gradient", im, "PNG", "image/png", optimize=True)
    # phone backup diagram
    im = Image.fromarray(_gradient(720, 480, (70, 110, 200), (150, 200, 240)))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((60, 60, 240, 420), radius=24, fill=(30, 30, 40))
    d.rounded_rectangle((470, 140, 680, 320), radius=30, fill=(250, 250, 255))
    d.line((250, 240, 460, 230), fill=(255, 255, 255), width=8)
    add("phone_gradient-720", im, "JPEG", "image/jpeg", quality=70)
    add("phone_gradient-360", im.resize((360, 240)), "JPEG", "image/jpeg", quality=70)
    # junk the image stages must drop: 1x1 tracking pixel, 16x16 icon, a truncated JPEG
    add("pixel", Image.new("RGB", (1, 1), (255, 255, 255)), "GIF", "image/gif")
    icon = Image.new("RGB", (16, 16), (255, 255, 255))
    ImageDraw.Draw(icon).ellipse((2, 2, 13, 13), fill=(230, 80, 40))
    add("share_icon", icon, "PNG", "image/png")
    full = _encode(Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)), "JPEG",
                   quality=60)
    out["broken_jpeg"] = (full[: len(full) // 3], "image/jpeg", 160, 120)
    return out


# Pillow test photos used (decode cleanly, >= 5000 pixels). name -> file
PILLOW_PHOTOS = {
    "flower": "flower.jpg",
    "flower2": "flower2.jpg",
    "hopper": "hopper.jpg",
    "hopper_webp": "hopper.webp",
    "iptc": "iptc.jpg",
    "pil_sample": "pil_sample_rgb.jpg",
}


def pillow_images() -> dict[str, tuple[bytes, str, int, int]]:
    out = {}
    for name, fname in PILLOW_PHOTOS.items():
        data = (PILLOW_DIR / fname).read_bytes()
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            w, h = im.size
            fmt = im.format
        if w * h < 5000:
            raise SystemExit(f"{fname}: {w}x{h} is under 5000 pixels; pick another photo")
        out[name] = (data, "image/webp" if fmt == "WEBP" else "image/jpeg", w, h)
    return out
