"""LSH banding: the (bands, rows) shape for a Jaccard threshold, and the band keys of a signature.

Two documents become a candidate pair when all ``rows`` values of at least one of ``bands`` bands
of their signatures agree; for Jaccard similarity ``s`` that happens with probability
``1 - (1 - s**rows)**bands`` (Leskovec, Rajaraman, Ullman, *Mining of Massive Datasets*, 3.4).

``optimal_param`` is datasketch's ``MinHashLSH._optimal_param``: over every ``bands * rows <=
num_perm`` it minimises ``fp_weight * FP + fn_weight * FN``, where FP is the area under that curve
below the threshold and FN the area above it over the complement. datasketch integrates with
``scipy.integrate.quad``; here every shape is integrated at once with 200-node Gauss-Legendre
quadrature in numpy (no scipy), and ``tests/corpus/dedup/test_lsh.py`` checks that the chosen
shapes equal datasketch's for thresholds 0.5 to 0.95, 64 to 256 permutations and several weights.

A band key is the band index (2 bytes, big-endian) followed by the band's ``rows`` signature values
as little-endian uint32: keys of different bands never collide, and equal keys mean equal bands.
"""

from __future__ import annotations

import functools

import numpy as np


def _areas(threshold: float, bands: np.ndarray, rows: np.ndarray, nodes: int = 200
           ) -> tuple[np.ndarray, np.ndarray]:
    """False-positive and false-negative areas for every (bands[i], rows[i])."""
    x, w = np.polynomial.legendre.leggauss(nodes)

    def integrate(lo: float, hi: float, fn) -> np.ndarray:
        s = (hi - lo) / 2 * x + (hi + lo) / 2  # nodes mapped to [lo, hi]
        return fn(s[None, :]) @ w * (hi - lo) / 2

    b = bands[:, None].astype(np.float64)
    r = rows[:, None].astype(np.float64)
    fp = integrate(0.0, threshold, lambda s: 1 - (1 - s ** r) ** b)
    fn = integrate(threshold, 1.0, lambda s: (1 - s ** r) ** b)
    return fp, fn


@functools.lru_cache(maxsize=64)
def optimal_param(threshold: float, num_perm: int, false_positive_weight: float = 0.5,
                  false_negative_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) minimising the weighted false-positive and false-negative areas.

    Ties go to the first shape in datasketch's loop order (bands ascending, then rows)."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must lie in (0, 1], got {threshold}")
    shapes = [(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)]
    bands = np.array([s[0] for s in shapes])
    rows = np.array([s[1] for s in shapes])
    fp, fn = _areas(threshold, bands, rows)
    error = fp * false_positive_weight + fn * false_negative_weight
    best = int(np.argmin(error))  # argmin returns the first of equal minima
    return int(bands[best]), int(rows[best])


def candidate_probability(similarity: float | np.ndarray, bands: int, rows: int
                          ) -> float | np.ndarray:
    """Probability that two documents of Jaccard ``similarity`` share at least one band."""
    return 1 - (1 - np.asarray(similarity, dtype=np.float64) ** rows) ** bands


def band_keys(signature: np.ndarray, bands: int, rows: int) -> list[bytes]:
    """The ``bands`` bucket keys of one signature (see the module docstring)."""
    sig = np.ascontiguousarray(signature[:bands * rows], dtype="<u4").reshape(bands, rows)
    return [i.to_bytes(2, "big") + sig[i].tobytes() for i in range(bands)]


def band_keys_batch(signatures: np.ndarray, bands: int, rows: int) -> list[list[bytes]]:
    """``band_keys`` of each row of a (docs, num_perm) signature matrix."""
    sig = np.ascontiguousarray(signatures[:, :bands * rows], dtype="<u4")
    raw = sig.reshape(len(sig), bands, rows)
    prefixes = [i.to_bytes(2, "big") for i in range(bands)]
    width = rows * 4
    out = []
    for doc in raw:
        data = doc.tobytes()
        out.append([prefixes[i] + data[i * width:(i + 1) * width] for i in range(bands)])
    return out
