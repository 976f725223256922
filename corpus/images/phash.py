"""The perceptual hash stored on each ``image_text`` row: ``corpus.dedup``'s image hash.

One definition of "the same image" serves both the row's ``phash`` column and image
near-duplicate removal, so this module only adapts the dedup issue's hash to the stored RGB
pixels and owns no hash of its own.
"""

from __future__ import annotations

from PIL import Image


def image_phash(rgb: Image.Image) -> str | None:
    """64-bit perceptual hash of ``rgb`` as 16 hex digits (``None`` until corpus.dedup has one)."""
    try:
        from corpus.dedup.image_hash import phash_hex
    except ImportError:
        return None
    return phash_hex(rgb)
