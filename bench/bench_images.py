"""Images/s through the image stage vs Pillow alone doing the same work on the same files.

The workload is every image of ``tests/fixtures/images`` (Pillow's test files: photos, the 4x4 and
8x8 images, a truncated JPEG, a junk header, WebP, GIF) plus four larger JPEGs made from them
(1600 to 3000 pixels wide, as web photos are), so decoding and resizing dominate as they do on a
crawl.

* **stage**: ``corpus.images.process.ProcessImages`` on ``ImageJob``s, the exact code the
  pipeline runs per image (format sniffing, JPEG structure check, header-only size filter, DCT-
  scaled decode, EXIF orientation, RGB, resize to 512, sharpness/entropy/colourfulness/JPEG
  quality, thresholds, JPEG encode, two SHA-256s, perceptual hash, ``ImageTextRecord``);
* **baseline**: a plain Pillow loop doing the same work as one would write it without m6:
  ``Image.open`` -> 5000-pixel and aspect checks -> ``thumbnail(512)`` (which also uses DCT
  scaling) -> ``exif_transpose`` -> ``convert("RGB")`` -> the same three scores with Pillow and
  numpy on a 256-pixel copy (Laplacian kernel, ``Image.entropy``, colourfulness) -> JPEG encode ->
  SHA-256. Bad files raise and are caught, as they would be.

Prints images/s for both and the ratio stage / baseline (goal: at least 0.8), once on all files
(each side rejects what it can, as in production: the stage refuses the junk-header JPEG before
decoding it) and once on only the files both keep, where the work per file is identical and the
ratio is the stage's overhead alone.
Run: ``.venv/bin/python bench/bench_images.py``.
"""

from __future__ import annotations

import hashlib
import io
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus.images.config import ImageConfig  # noqa: E402
from corpus.images.process import ProcessImages  # noqa: E402
from corpus.images.records import ImageJob, ImagePair  # noqa: E402

FIX = ROOT / "tests" / "fixtures" / "images"
SECONDS = 5.0  # per contender and round: 2 workloads x 2 rounds x 2 = 40 s
LAPLACIAN = ImageFilter.Kernel((3, 3), [0, 1, 0, 1, -4, 1, 0, 1, 0], scale=1, offset=128)


def workload() -> list[tuple[str, bytes]]:
    files = [(p.name, p.read_bytes()) for p in sorted(FIX.iterdir()) if p.suffix in
             (".jpg", ".webp", ".gif")]
    for name, size in (("iptc.jpg", (2048, 1536)), ("exif_gps_typeerror.jpg", (1600, 1062)),
                       ("flower.jpg", (3000, 2250)), ("sugarshack_bad_mpo_header.jpg",
                                                      (1920, 1440))):
        im = Image.open(FIX / name).convert("RGB").resize(size, Image.Resampling.BICUBIC)
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=85)
        files.append((f"{name}@{size[0]}", buf.getvalue()))
    return files


def pillow_alone(data: bytes) -> bytes | None:
    """The same work, written with Pillow only."""
    try:
        im = Image.open(io.BytesIO(data))
        w, h = im.size
        if w * h < 5000 or max(w, h) / min(w, h) > 3.0:
            return None
        im.thumbnail((512, 512))
        im = ImageOps.exif_transpose(im).convert("RGB")
        small = im.copy()
        small.thumbnail((256, 256), Image.Resampling.BILINEAR)
        grey = small.convert("L")
        lap = np.asarray(grey.filter(LAPLACIAN), dtype=np.float32)
        sharp = float(lap.var())
        ent = grey.entropy()
        a = np.asarray(small, dtype=np.float32)
        rg = a[..., 0] - a[..., 1]
        yb = 0.5 * (a[..., 0] + a[..., 1]) - a[..., 2]
        colour = float(np.sqrt(rg.var() + yb.var()) + 0.3 * np.sqrt(rg.mean() ** 2
                                                                      + yb.mean() ** 2))
        if sharp < 20 or ent < 3.0 or colour < 0:
            return None
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=90)
        out = buf.getvalue()
        hashlib.sha256(out).hexdigest()
        return out
    except Exception:  # noqa: BLE001 - truncated and corrupt files, as a plain loop would
        return None


def jobs(files: list[tuple[str, bytes]]) -> list[ImageJob]:
    return [ImageJob(f"https://img.example.cn/{name}",
                     [ImagePair(id=name, source="webpage", text="一张图片的说明文字",
                                image_url=f"https://img.example.cn/{name}")],
                     body=data, origin="crawl")
            for name, data in files]


def rate(fn, n_items: int) -> float:
    """Items/s of ``fn()`` (which handles ``n_items``), repeated for about SECONDS."""
    fn()  # warm up: plugin imports, first allocations
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < SECONDS:
        fn()
        done += n_items
    return done / (time.perf_counter() - start)


def measure(files: list[tuple[str, bytes]], stage: ProcessImages) -> tuple[float, float]:
    """(stage images/s, Pillow-alone images/s) on ``files``: two interleaved rounds, best of
    each (the machine is shared; noise hits both alike)."""
    work = jobs(files)

    def run_stage() -> None:
        for j in work:
            for _ in stage.process(j):
                pass

    def run_pillow() -> None:
        for _, d in files:
            pillow_alone(d)

    stage_rates, pillow_rates = [], []
    for _ in range(2):
        pillow_rates.append(rate(run_pillow, len(files)))
        stage_rates.append(rate(run_stage, len(work)))
    return max(stage_rates), max(pillow_rates)


def main() -> int:
    warnings.simplefilter("ignore")  # Pillow warns about the malformed MPO header, every time
    files = workload()
    stage = ProcessImages(ImageConfig())
    stage.setup()
    kept_by_stage = {j.key.rsplit("/", 1)[1] for j in jobs(files)
                     for r in stage.process(j) if hasattr(r, "image")}
    kept_by_pillow = {name for name, d in files if pillow_alone(d) is not None}
    both = [(n, d) for n, d in files if n in kept_by_stage and n in kept_by_pillow]
    print(f"{len(files)} files ({sum(len(d) for _, d in files) / 1e6:.1f} MB); kept by the "
          f"stage {len(kept_by_stage)}, by Pillow alone {len(kept_by_pillow)} (the stage also "
          f"rejects {', '.join(sorted(kept_by_pillow - kept_by_stage))})")

    s, b = measure(files, stage)
    print("all files (each rejects what it can, as in production):")
    print(f"  baseline  Pillow alone (decode+filter+resize+encode): {b:8.1f} images/s")
    print(f"  m6        ProcessImages stage (same work + checks):   {s:8.1f} images/s")
    print(f"  ratio     stage / Pillow alone: {s / b:.2f}  (goal >= 0.8)")
    s, b = measure(both, stage)
    print(f"only the {len(both)} files both keep (identical work per file):")
    print(f"  baseline  Pillow alone: {b:8.1f} images/s")
    print(f"  m6        stage:        {s:8.1f} images/s")
    print(f"  ratio     stage / Pillow alone: {s / b:.2f}  (goal >= 0.8)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
