"""The perceptual hash stored on each ``image_text`` row: ``corpus.dedup``'s image hash.

One definition of "the same image" serves both the row's ``phash`` column and image
near-duplicate removal (``corpus.dedup.images``), so this module only applies the dedup issue's
64-bit DCT hash (``corpus.dedup.image_hash.phash_hex``) to the stored RGB pixels and owns no
hash of its own. Hashing the stored pixels, not the original, means the column can be recomputed
from the row's ``image`` bytes alone.
"""

from __future__ import annotations

from PIL import Image

from corpus.dedup.image_hash import phash_hex


def image_phash(rgb: Image.Image) -> str:
    """64-bit perceptual hash of ``rgb`` as 16 lowercase hex digits."""
    return phash_hex(rgb)
