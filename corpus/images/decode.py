"""Safe image decoding: every byte string either becomes pixels or a reason, never a crash.

Web images are hostile input. The order of checks keeps the expensive and dangerous work last:

1. ``sniff_format`` tells the format from the first bytes (not the URL, not the Content-Type,
   which are often wrong): unknown bytes are ``unknown_format``, an HTML page (an error page
   served in the image's place) is ``not_an_image``, a known format that is not allowed (SVG,
   ICO, AVIF) is ``unsupported_format``;
2. for JPEG, ``jpeg_problem`` walks the marker segments up to the image data: bytes outside any
   segment are ``corrupt_header`` (what libjpeg reports as "Corrupt JPEG data: N extraneous bytes
   before marker"; Pillow skips them silently), a file that ends before its end-of-image marker is
   ``truncated`` (Pillow's ``test_junk_jpeg_header`` and ``truncated_jpeg.jpg``);
3. ``open_image`` reads the header only: the size is checked against ``max_pixels`` before a
   single pixel is allocated, so a decompression bomb (a small file that claims 50,000 x 50,000
   pixels) costs nothing (the same check as Pillow's ``MAX_IMAGE_PIXELS``, but per config, not a
   process-wide global; Pillow's own ``DecompressionBombError`` is caught too);
4. ``load_image`` decodes, with JPEG DCT scaling (``Image.draft``, as ``Image.thumbnail`` does)
   when the stored size is much smaller than the original, and applies the EXIF orientation so
   the stored pixels are the way a browser shows them. A decoder error on truncated data is
   ``truncated``, any other is ``decode_error``.

``ImageFile.LOAD_TRUNCATED_IMAGES`` is never set: a truncated image must fail, not come out grey.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from corpus.images.config import DecodeConfig

# EXIF orientation -> the transpose that undoes it (Pillow's ImageOps.exif_transpose table).
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_AXES = (5, 6, 7, 8)
_EXIF_ORIENTATION = 0x0112


class DecodeError(Exception):
    """An image that cannot be used; ``reason`` is the rejection reason."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def sniff_format(data: bytes) -> str | None:
    """The image format of ``data`` from its signature (Pillow's names), or None."""
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:2] == b"BM":
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[:4] == b"\x00\x00\x01\x00":
        return "ICO"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "AVIF" if brand in (b"avif", b"avis") else "HEIF"
    text = head.lstrip().lower()
    if text.startswith((b"<svg", b"<?xml")):
        return "SVG"
    if text.startswith((b"<!doctype", b"<html", b"<head", b"<body")):
        return "HTML"
    return None


def jpeg_problem(data: bytes) -> tuple[str, str] | None:
    """``(reason, detail)`` when the JPEG marker structure is broken, else None.

    Walks the segments from SOI to the first SOS: every segment must start with 0xFF (fill bytes
    0xFF allowed) and fit in the file. After SOS the entropy-coded data can only hold 0xFF
    followed by 0x00 or a marker, so an end-of-image marker (FFD9) after it must exist unless the
    file was cut short.
    """
    n = len(data)
    i = 2
    while i < n:
        if data[i] != 0xFF:
            j = data.find(b"\xff", i)
            j = n if j < 0 else j
            marker = f"0x{data[j + 1]:02x}" if j + 1 < n else "end of file"
            return "corrupt_header", f"{j - i} extraneous bytes before marker {marker} at {i}"
        while i < n and data[i] == 0xFF:
            i += 1
        if i >= n:
            break
        marker = data[i]
        i += 1
        if marker == 0xD9:
            return "corrupt_header", "end-of-image marker before any image data"
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:
            continue  # markers without a length
        if i + 2 > n:
            break
        (length,) = struct.unpack(">H", data[i:i + 2])
        if length < 2:
            return "corrupt_header", f"segment 0x{marker:02x} declares length {length}"
        if i + length > n:
            return "truncated", f"segment 0x{marker:02x} runs past the end of the file"
        i += length
        if marker == 0xDA:  # start of scan: image data follows
            if data.find(b"\xff\xd9", i) < 0:
                return "truncated", f"no end-of-image marker after the image data ({n} bytes)"
            return None
    return "truncated", f"file ends inside the JPEG header ({n} bytes)"


@dataclass
class OpenedImage:
    """A parsed header: the size is known, no pixel is decoded yet."""

    image: Image.Image
    format: str
    width: int  # as displayed, i.e. after the EXIF orientation
    height: int
    orientation: int  # EXIF orientation (1 = as stored)
    frames: int = 1

    @property
    def pixels(self) -> int:
        return self.width * self.height


def _pillow_formats(names: set[str]) -> list[str]:
    """The names Pillow can open among ``names`` (all plugins loaded once; an unknown name such
    as a missing AVIF plugin is left out, not an error)."""
    Image.init()
    return sorted(n for n in names if n in Image.OPEN)


def open_image(data: bytes, cfg: DecodeConfig) -> OpenedImage:
    """Check ``data`` up to the header; raises ``DecodeError`` with a rejection reason."""
    if not data:
        raise DecodeError("empty", "no bytes")
    if len(data) > cfg.max_bytes:
        raise DecodeError("too_many_bytes", f"{len(data)} bytes > {cfg.max_bytes}")
    fmt = sniff_format(data)
    if fmt is None:
        raise DecodeError("unknown_format", f"first bytes {data[:8].hex()}")
    if fmt == "HTML":  # an error page or a soft 404 served where the image was
        raise DecodeError("not_an_image", f"HTML bytes: {data[:60]!r}")
    allowed = set(cfg.formats)
    if fmt not in allowed and not (fmt == "JPEG" and "MPO" in allowed):
        raise DecodeError("unsupported_format", fmt)
    if fmt == "JPEG":
        problem = jpeg_problem(data)
        if problem is not None and (problem[0] == "truncated" or cfg.strict_jpeg):
            raise DecodeError(*problem)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # malformed MPO headers etc.: the check is ours
            im = Image.open(io.BytesIO(data), formats=_pillow_formats(allowed | {"MPO"}))
    except Image.DecompressionBombError as e:
        raise DecodeError("decompression_bomb", str(e)) from None
    except UnidentifiedImageError as e:
        raise DecodeError("decode_error", f"{fmt} header not readable: {e}") from None
    except Exception as e:  # noqa: BLE001 - plugins raise SyntaxError, struct.error, ...
        raise DecodeError("decode_error", f"{type(e).__name__}: {e}") from None
    w, h = im.size
    if w <= 0 or h <= 0:
        raise DecodeError("decode_error", f"size {w}x{h}")
    if w * h > cfg.max_pixels:
        raise DecodeError("decompression_bomb", f"{w}x{h} = {w * h} pixels > {cfg.max_pixels}")
    try:
        orientation = int(im.getexif().get(_EXIF_ORIENTATION, 1) or 1)
    except Exception:  # noqa: BLE001 - unreadable EXIF: shown as stored
        orientation = 1
    if orientation not in _ORIENTATION:
        orientation = 1
    if orientation in _SWAPS_AXES:
        w, h = h, w
    return OpenedImage(im, im.format or fmt, w, h, orientation, getattr(im, "n_frames", 1))


def load_image(opened: OpenedImage, draft_to: tuple[int, int] | None = None) -> Image.Image:
    """Decode the pixels (first frame) and apply the EXIF orientation.

    ``draft_to`` is the size the caller will scale to (as displayed): JPEGs are then decoded at
    the smallest DCT scale still at least twice that size (``Image.thumbnail``'s reducing gap)."""
    im = opened.image
    if draft_to is not None and opened.format in ("JPEG", "MPO"):
        tw, th = draft_to
        if opened.orientation in _SWAPS_AXES:
            tw, th = th, tw
        if tw * 2 < im.size[0] and th * 2 < im.size[1]:
            im.draft(None, (tw * 2, th * 2))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if opened.frames > 1:
                im.seek(0)
            im.load()
    except OSError as e:
        msg = str(e)
        reason = "truncated" if ("truncated" in msg or "broken data stream" in msg) \
            else "decode_error"
        raise DecodeError(reason, msg) from None
    except Exception as e:  # noqa: BLE001
        raise DecodeError("decode_error", f"{type(e).__name__}: {e}") from None
    if opened.orientation != 1:
        im = im.transpose(_ORIENTATION[opened.orientation])
    return im
