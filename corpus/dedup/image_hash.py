"""Image identity: an exact byte hash, and a 64-bit perceptual hash that survives resizing and
re-encoding, compared by Hamming distance.

``phash`` is the DCT hash of Zauner's thesis ("Implementation and Benchmarking of Perceptual Image
Hash Functions", 2010) as the ``imagehash`` library computes it: the image is converted to
greyscale (ITU-R 601-2 luma, Pillow's "L"), resized to 32x32 with a Lanczos filter, transformed by
a 2-D DCT-II, and the 8x8 lowest frequencies are compared against their median: one bit per
coefficient, row-major, the first coefficient the most significant bit. The DCT is a fixed 32x32
matrix product in numpy (scale factors do not change which coefficients exceed the median, except
that of the constant term, which is included like ``imagehash`` does).

Measured on Pillow's test photos and quarter crops of them (32 distinct images, see
``docs/dedup.md``): a copy resized to half or double size, re-encoded as JPEG at quality 30 or 95,
as WebP or PNG, or converted to greyscale is within 2 bits of the original; different images are
18 or more bits apart (a 2% border crop moves 0 to 14 bits: crops are not what this catches).
``DedupConfig.image_hamming = 4`` sits between the two.

A near-duplicate search with a Hamming radius ``t`` uses ``block_keys``: the 64 bits are split
into ``t + 1`` blocks, and two hashes within distance ``t`` agree on at least one whole block
(pigeonhole), so the blocks are LSH bands with no false negatives; candidates are then checked
with ``hamming``.

``image_sha256`` is the exact key: SHA-256 of the bytes as stored.
"""

from __future__ import annotations

import functools
import hashlib
import io

import numpy as np
from PIL import Image

HASH_BITS = 64
_SIDE = 32
_LOW = 8


@functools.lru_cache(maxsize=1)
def _dct_matrix() -> np.ndarray:
    """Unnormalised DCT-II matrix: X[k] = sum_n x[n] cos(pi (2n + 1) k / 2N)."""
    n = np.arange(_SIDE)
    k = n[:, None]
    return np.cos(np.pi * (2 * n[None, :] + 1) * k / (2 * _SIDE))


def phash_bits(image: Image.Image) -> int:
    """The 64-bit DCT perceptual hash of ``image`` as an integer."""
    grey = image.convert("L").resize((_SIDE, _SIDE), Image.Resampling.LANCZOS)
    pixels = np.asarray(grey, dtype=np.float64)
    d = _dct_matrix()
    coeffs = (d @ pixels @ d.T)[:_LOW, :_LOW]
    bits = (coeffs > np.median(coeffs)).ravel()
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def phash_hex(image: Image.Image) -> str:
    """``phash_bits`` as 16 lowercase hex digits (the ``phash`` column of ``image_text``)."""
    return f"{phash_bits(image):016x}"


def phash_of_bytes(data: bytes) -> str:
    """``phash_hex`` of encoded image bytes (JPEG, PNG, WebP, GIF: whatever Pillow reads).

    Raises ``ValueError`` naming the problem when Pillow cannot decode ``data``."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return phash_hex(im)
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bad bytes
        raise ValueError(f"cannot decode image bytes for a perceptual hash: "
                         f"{type(exc).__name__}: {exc}") from exc


def image_sha256(data: bytes) -> str:
    """SHA-256 of the bytes, 64 hex digits (the ``sha256`` column of ``image_text``)."""
    return hashlib.sha256(data).hexdigest()


def parse_hex(phash: str) -> int:
    """A 16-hex-digit hash back to an integer; a clear error for anything else."""
    if len(phash) != 16:
        raise ValueError(f"a perceptual hash has 16 hex digits, got {phash!r}")
    try:
        return int(phash, 16)
    except ValueError:
        raise ValueError(f"a perceptual hash has 16 hex digits, got {phash!r}") from None


def hamming(a: int | str, b: int | str) -> int:
    """Number of differing bits of two 64-bit hashes (integers or hex strings)."""
    x = parse_hex(a) if isinstance(a, str) else a
    y = parse_hex(b) if isinstance(b, str) else b
    return (x ^ y).bit_count()


def block_spans(radius: int) -> list[tuple[int, int]]:
    """The ``radius + 1`` bit ranges (start, stop) the 64 bits are cut into, as even as can be."""
    n = radius + 1
    edges = [round(i * HASH_BITS / n) for i in range(n + 1)]
    return [(edges[i], edges[i + 1]) for i in range(n)]


def block_keys(phash: int | str, radius: int) -> list[str]:
    """Bucket keys of a hash for a Hamming ``radius`` search: ``"<block>:<bits>"`` per block."""
    x = parse_hex(phash) if isinstance(phash, str) else phash
    keys = []
    for i, (lo, hi) in enumerate(block_spans(radius)):
        width = hi - lo
        value = (x >> (HASH_BITS - hi)) & ((1 << width) - 1)
        keys.append(f"{i}:{value:x}")
    return keys
