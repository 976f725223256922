"""A synthetic image-text set whose answers are known exactly: coloured shapes on plain
backgrounds, with Chinese descriptions and questions. For measuring the applications.

The sample corpus has 20 image-text pairs, too few to tell a model that learnt from one that
did not. This set stands in for the paper's white-background e-commerce images (section 4.1
keeps "no complex background") with everything an application needs, in the project's formats:

- ``image_text/shapes-00000.parquet``: the corpus schema (``schemas.arrow.IMAGE_TEXT_SCHEMA``),
  two descriptions (two rows) per image -- for captioning (BLEU/CIDEr with two references),
  matching (negatives by swapping texts) and text-to-image, listed in ``manifest.json`` like any
  corpus folder's shards;
- ``vqa.jsonl`` + ``images/``: four questions per image (shape colour, shape, number of shapes,
  background colour) with their exact answers, the ``type`` of each for per-type accuracy
  (the paper's Table 5 reports FMIQA accuracy by question type), and a ``split`` field: the
  images held out from the Parquet rows at ``val_fraction`` 0.1 (``model/apps/rows.py``'s
  rule), so all applications hold out the same images.

Everything is drawn with Pillow from a seeded generator (``python -m model.apps.shapes --out
DIR --images N --seed S`` rebuilds the same bytes). Each image: 64x64 pixels, a background
(white, grey or black), one or two shapes of one kind and colour (circle, square, triangle,
diamond; red, green, blue, yellow, purple, orange), large or small, placed left, right, top,
bottom or centre, with jitter. Row ids come from ``schemas.records.make_id`` over the image
and description numbers.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, ImageDraw

from model.data.shards import val_bucket
from schemas.arrow import IMAGE_TEXT_SCHEMA
from schemas.image_column import with_image_structs
from schemas.layout import MANIFEST_FILE, Manifest
from schemas.records import ImageTextRecord, make_id

SIZE = 64
SUPER = 4  # drawn at 4x and downsampled, for smooth edges
BACKGROUNDS = {"白色": (250, 250, 250), "灰色": (128, 128, 128), "黑色": (15, 15, 15)}
COLOURS = {"红色": (220, 30, 30), "绿色": (30, 170, 50), "蓝色": (30, 70, 220),
           "黄色": (240, 210, 20), "紫色": (140, 40, 190), "橙色": (245, 130, 20)}
SHAPES = ("圆形", "正方形", "三角形", "菱形")
PLACES = {"左边": (0.28, 0.5), "右边": (0.72, 0.5), "上方": (0.5, 0.28), "下方": (0.5, 0.72),
          "中间": (0.5, 0.5)}
COUNT_WORD = {1: "一个", 2: "两个"}
VAL_FRACTION = 0.1


@dataclass(frozen=True)
class Scene:
    background: str
    colour: str
    shape: str
    count: int
    big: bool
    place: str  # for one shape; two shapes sit side by side

    def captions(self) -> tuple[str, str]:
        size = "大" if self.big else "小"
        n = COUNT_WORD[self.count]
        where = f"，位于{self.place}" if self.count == 1 else "，左右并排"
        return (f"{self.background}背景上有{n}{size}的{self.colour}{self.shape}{where}",
                f"一张{self.background}底色的图片，画着{n}{self.colour}的{self.shape}")

    def questions(self) -> list[dict[str, str]]:
        return [
            {"question": "图中的形状是什么颜色", "answer": self.colour, "type": "color"},
            {"question": "图中画的是什么形状", "answer": self.shape, "type": "shape"},
            {"question": "图中有几个形状", "answer": COUNT_WORD[self.count], "type": "number"},
            {"question": "图片的背景是什么颜色", "answer": self.background, "type": "background"},
        ]


def random_scene(rng: np.random.Generator) -> Scene:
    return Scene(
        background=str(rng.choice(list(BACKGROUNDS))), colour=str(rng.choice(list(COLOURS))),
        shape=str(rng.choice(SHAPES)), count=int(rng.integers(1, 3)), big=bool(rng.integers(2)),
        place=str(rng.choice(list(PLACES))),
    )


def _polygon(shape: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    if shape == "正方形":
        return [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    if shape == "三角形":
        return [(cx, cy - r), (cx + r, cy + r * 0.8), (cx - r, cy + r * 0.8)]
    return [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)]  # 菱形


def draw(scene: Scene, rng: np.random.Generator) -> Image.Image:
    s = SIZE * SUPER
    im = Image.new("RGB", (s, s), BACKGROUNDS[scene.background])
    d = ImageDraw.Draw(im)
    r = s * (0.2 if scene.big else 0.12) * (1 + rng.uniform(-0.1, 0.1))
    if scene.count == 1:
        centres = [PLACES[scene.place]]
    else:
        centres = [(0.27, 0.5), (0.73, 0.5)]
        r = min(r, s * 0.2)
    for fx, fy in centres:
        cx = s * (fx + rng.uniform(-0.04, 0.04))
        cy = s * (fy + rng.uniform(-0.04, 0.04))
        colour = tuple(int(np.clip(c + rng.integers(-15, 16), 0, 255)) for c in COLOURS[scene.colour])
        if scene.shape == "圆形":
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
        else:
            d.polygon(_polygon(scene.shape, cx, cy, r), fill=colour)
    return im.resize((SIZE, SIZE), Image.LANCZOS)


def build(out: str | Path, n_images: int = 2000, seed: int = 0) -> dict[str, int]:
    """Write the set into ``out`` (module docstring); returns the counts written."""
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "image_text").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows, qa = [], []
    for i in range(n_images):
        scene = random_scene(rng)
        buf = io.BytesIO()
        draw(scene, rng).save(buf, format="PNG", optimize=True)
        data = buf.getvalue()
        name = f"shape_{i:05d}.png"
        (out / "images" / name).write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        for j, text in enumerate(scene.captions()):
            rec = ImageTextRecord(
                id=make_id("unknown", f"shapes:{seed}:{i}:{j}"), source="unknown", text=text,
                image=data, format="png", width=SIZE, height=SIZE, orig_width=SIZE,
                orig_height=SIZE, sha256=digest, n_chars=len(text), n_tokens=len(text),
                url=f"synthetic://shapes/{seed}/{i}", input_file="model.apps.shapes",
            )
            rows.append(rec.to_row())
        held = any(val_bucket(r["id"]) < VAL_FRACTION for r in rows[-2:])
        for k, q in enumerate(scene.questions()):
            qa.append({"id": f"shapes:{seed}:{i}:q{k}", "split": "val" if held else "train",
                       "image": f"images/{name}", **q})
    table = pa.Table.from_pylist(with_image_structs(rows), schema=IMAGE_TEXT_SCHEMA)
    shard = "image_text/shapes-00000.parquet"
    pq.write_table(table, out / shard, row_group_size=256, compression="zstd")
    # a corpus folder is read through its manifest (schemas/layout.py), written last
    (out / MANIFEST_FILE).write_text(Manifest.of([(shard, len(rows))]).to_json(), encoding="utf-8")
    with open(out / "vqa.jsonl", "w", encoding="utf-8") as f:
        for q in qa:
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    return {"images": n_images, "image_text_rows": len(rows), "questions": len(qa)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m model.apps.shapes", description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--images", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    counts = build(args.out, args.images, args.seed)
    print(f"wrote {args.out}: {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
