"""Thumbnails for the report's image-text grid, as ``data:`` URIs the HTML embeds.

The page must open without the shards beside it and without network, so each sampled image is
shrunk (longest side ``side`` pixels, JPEG) and inlined as base64: 24 thumbnails of 160 pixels
add about 150 KB to the page. An image Pillow cannot decode gives None (the grid shows a note in
its place); one bad image never stops the report.
"""

from __future__ import annotations

import base64
import io
import logging

from PIL import Image, UnidentifiedImageError

log = logging.getLogger(__name__)

THUMB_SIDE = 160


def thumbnail_uri(data: bytes | None, side: int = THUMB_SIDE, quality: int = 82) -> str | None:
    """``data:image/jpeg;base64,...`` of ``data`` shrunk to fit ``side`` x ``side``, or None."""
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.draft("RGB", (side, side))  # JPEG: decode at a reduced scale, much faster
            rgb = im.convert("RGB")
            rgb.thumbnail((side, side), Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        log.warning("report: a sampled image could not be decoded (%s)", e)
        return None
    buf = io.BytesIO()
    rgb.save(buf, format="JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
