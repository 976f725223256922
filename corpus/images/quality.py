"""Image quality scores: sharpness, entropy, colourfulness and an estimate of JPEG quality.

The paper (2.3) uses "a pretrained image scorer to evaluate the qualities of images"; that model
is not public, so m6 scores with four classic, cheap, explainable measures, each stored on the row
(``sharpness``, ``entropy``, ``colourfulness``, ``jpeg_quality``) and thresholded by
``corpus.images.filters``:

* **sharpness**: variance of the Laplacian of the grey image (Pech-Pacheco et al., "Diatom
  autofocusing in brightfield microscopy", ICPR 2000), the usual blur detector: a blurred or
  heavily upscaled image has few edges, so a low variance;
* **entropy**: Shannon entropy in bits of the 256-bin grey histogram (what ``PIL.Image.entropy``
  computes): near 0 for blank, flat or two-colour images (placeholders, solid banners);
* **colourfulness**: Hasler and Suesstrunk, "Measuring colourfulness in natural images", SPIE
  2003: ``sqrt(sd(rg)^2 + sd(yb)^2) + 0.3 * sqrt(mean(rg)^2 + mean(yb)^2)`` with ``rg = R - G``
  and ``yb = (R + G) / 2 - B``; 0 for greyscale, about 15 "slightly", 33 "moderately", 59
  "quite" colourful;
* **jpeg_quality**: the IJG quality (1-100) whose scaled standard quantisation tables (ITU T.81
  Annex K, scaled as libjpeg's ``jpeg_quality_scaling``) are nearest the file's own tables, the
  estimate ImageMagick's ``identify`` reports. An encoder with its own tables gets the nearest IJG
  equivalent.

Sharpness, entropy and colourfulness are computed on the image scaled to ``analysis_side`` on its
longer side, so a threshold means the same for a thumbnail and a 12-megapixel photo (the Laplacian
variance of one photo grows as it is downscaled).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

# Beam parallelises over workers and every filter here runs on an image of at most the analysis
# size, so OpenCV's own thread pool would only oversubscribe the cores: run it single-threaded.
cv2.setNumThreads(0)

# ITU T.81 Annex K.1 (luminance) and K.2 (chrominance) in natural (row-major) order, which is
# the order ``PIL.JpegImagePlugin`` reports ``Image.quantization`` in.
_STD_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
], dtype=np.float64)
_STD_CHROMA = np.array([
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
], dtype=np.float64)


def _ijg_tables(std: np.ndarray) -> np.ndarray:
    """(100, 64) tables libjpeg writes for quality 1..100 (baseline, clamped to 1..255)."""
    q = np.arange(1, 101, dtype=np.float64)[:, None]
    scale = np.where(q < 50, np.floor(5000 / q), 200 - 2 * q)
    return np.clip(np.floor((std[None, :] * scale + 50) / 100), 1, 255)


_IJG_LUMA = _ijg_tables(_STD_LUMA)
_IJG_CHROMA = _ijg_tables(_STD_CHROMA)


def jpeg_quality(quantization: dict[int, list[int]] | None) -> float | None:
    """Estimated IJG quality 1..100 of a JPEG's quantisation tables, or None without tables."""
    if not quantization or 0 not in quantization:
        return None
    luma = np.asarray(quantization[0], dtype=np.float64)
    if luma.size != 64:
        return None
    if luma.max() > 255:  # 16-bit tables: compare on the 8-bit scale
        luma = np.clip(luma, 1, 255)
    err = np.abs(np.log(_IJG_LUMA) - np.log(luma)[None, :]).sum(axis=1)
    chroma = quantization.get(1)
    if chroma is not None and len(chroma) == 64:
        c = np.clip(np.asarray(chroma, dtype=np.float64), 1, 255)
        err = err + np.abs(np.log(_IJG_CHROMA) - np.log(c)[None, :]).sum(axis=1)
    return float(np.argmin(err) + 1)


@dataclass(frozen=True)
class QualityScores:
    sharpness: float
    entropy: float
    colourfulness: float
    jpeg_quality: float | None


def analysis_array(rgb: Image.Image, side: int) -> np.ndarray:
    """The RGB pixels at ``side`` on the longer side (not enlarged), as an (H, W, 3) uint8 array."""
    w, h = rgb.size
    if max(w, h) > side:
        f = side / max(w, h)
        rgb = rgb.resize((max(1, round(w * f)), max(1, round(h * f))),
                         Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(rgb)


def sharpness(grey: np.ndarray) -> float:
    """Variance of the Laplacian (3x3 aperture) of a uint8 grey image."""
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def entropy(grey: np.ndarray) -> float:
    """Shannon entropy (bits) of the 256-bin histogram of a uint8 grey image."""
    hist = np.bincount(grey.ravel(), minlength=256).astype(np.float64)
    p = hist[hist > 0] / hist.sum()
    return float(-(p * np.log2(p)).sum())


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler-Suesstrunk colourfulness M of an (H, W, 3) uint8 array."""
    a = rgb.astype(np.float32)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    rg = r - g
    yb = 0.5 * (r + g) - b
    std = np.sqrt(rg.var() + yb.var())
    mean = np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    return float(std + 0.3 * mean)


def score(rgb: Image.Image, analysis_side: int,
          quantization: dict[int, list[int]] | None = None) -> QualityScores:
    """All four scores of an RGB image (``quantization`` from the original JPEG, if any)."""
    arr = analysis_array(rgb, analysis_side)
    grey = cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY)
    return QualityScores(sharpness(grey), entropy(grey), colourfulness(arr),
                         jpeg_quality(quantization))
