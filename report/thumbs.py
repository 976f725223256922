"""Thumbnails for the report's image-text grid, as ``data:`` URIs the HTML embeds.

The page must open without the shards beside it and without network, so each sampled image is
shrunk (longest side ``side`` pixels, JPEG) and inlined as base64: 24 thumbnails of 160 pixels
add about 150 KB to the page. An image Pillow cannot decode gives None (the grid shows a note in
its place); one bad image never stops the report. Nor does a decompression bomb: an image that
still has more than ``MAX_PIXELS`` pixels after JPEG's reduced-scale ``draft`` is not decoded
(Pillow itself refuses only past twice its 89M-pixel limit, so a 17 KB PNG of 12,000 x 12,000
pixels cost 0.8 GB here), the same limit the pipeline's decoder applies.
"""

from __future__ import annotations

import base64
import io
import logging

from PIL import Image, UnidentifiedImageError

from corpus.images.config import DecodeConfig

log = logging.getLogger(__name__)

THUMB_SIDE = 160
MAX_PIXELS = DecodeConfig().max_pixels


def thumbnail_uri(data: bytes | None, side: int = THUMB_SIDE, quality: int = 82) -> str | None:
    """``data:image/jpeg;base64,...`` of ``data`` shrunk to fit ``side`` x ``side``, or None."""
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.draft("RGB", (side, side))  # JPEG: decode at a reduced scale, much faster
            if im.width * im.height > MAX_PIXELS:
                log.warning("report: a sampled image of %dx%d pixels is not decoded (over %s)",
                            im.width, im.height, f"{MAX_PIXELS:,}")
                return None
            rgb = im.convert("RGB")
            rgb.thumbnail((side, side), Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        log.warning("report: a sampled image could not be decoded (%s)", e)
        return None
    buf = io.BytesIO()
    rgb.save(buf, format="JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
