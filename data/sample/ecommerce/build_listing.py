"""Build the sample e-commerce listing: ``listing.jsonl`` and the product images in ``images/``.

Product photos are drawn here with Pillow and numpy (seeded, so the bytes are the same on every
run; a little sensor-like noise makes them score like photos rather than clip art), and two are
Pillow's own test photos (HPND). The listing also holds the lines the image path must refuse,
each with the reason it must get (``expect``, ignored by the reader):

* a 60x60 thumbnail (``too_few_pixels``), a 1000x200 banner (``aspect_ratio``);
* a missing file (``file_not_found``), a URL while downloading is off (``download_off``);
* a two-character text (``text_too_short``), a line that is not JSON (``bad_json``).

Run ``.venv/bin/python data/sample/ecommerce/build_listing.py`` to rebuild, ``--check`` to verify
the checked-in files are what it builds.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
PILLOW_DIR = HERE.parents[2] / "tests" / "fixtures" / "images"  # Pillow's test photos, in-repo
PILLOW_COPIES = {"flowers.jpg": "flower.jpg", "portrait.jpg": "hopper.jpg"}  # ours -> Pillow's


def _photo(im: Image.Image, rng: np.random.Generator, sigma: float = 4.0) -> Image.Image:
    """Add mild noise, like a camera sensor, so the drawing is not flat clip art."""
    a = np.asarray(im, dtype=np.float32)
    a = a + rng.normal(0.0, sigma, a.shape)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def _shade(w: int, h: int, top, bottom) -> Image.Image:
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    a = np.array(top, np.float32) * (1 - t) + np.array(bottom, np.float32) * t
    return Image.fromarray(np.broadcast_to(a, (h, w, 3)).astype(np.uint8))


def drawn() -> dict[str, Image.Image]:
    rng = np.random.default_rng(6)
    out: dict[str, Image.Image] = {}

    im = _shade(400, 400, (250, 250, 250), (225, 225, 228))  # white mug on a studio backdrop
    d = ImageDraw.Draw(im)
    d.ellipse((95, 300, 305, 345), fill=(200, 200, 205))
    d.rectangle((110, 110, 290, 320), fill=(245, 245, 240), outline=(170, 170, 170), width=3)
    d.ellipse((110, 95, 290, 130), fill=(230, 230, 226), outline=(170, 170, 170), width=3)
    d.arc((250, 150, 350, 270), -90, 90, fill=(170, 170, 170), width=14)
    d.text((150, 200), "M6", fill=(40, 90, 160))
    out["mug.jpg"] = _photo(im, rng)

    im = _shade(400, 500, (246, 240, 236), (220, 210, 205))  # red dress
    d = ImageDraw.Draw(im)
    d.polygon([(160, 60), (240, 60), (260, 180), (340, 460), (60, 460), (140, 180)],
              fill=(190, 30, 45))
    d.rectangle((150, 170, 250, 190), fill=(120, 20, 30))
    out["dress.jpg"] = _photo(im, rng)

    im = _shade(480, 360, (236, 226, 210), (190, 170, 140))  # clay teapot
    d = ImageDraw.Draw(im)
    d.ellipse((130, 120, 350, 300), fill=(120, 60, 40))
    d.polygon([(340, 200), (430, 140), (440, 150), (350, 230)], fill=(110, 55, 35))
    d.arc((60, 140, 170, 260), 90, 270, fill=(110, 55, 35), width=16)
    d.ellipse((210, 95, 270, 130), fill=(100, 50, 30))
    out["teapot.jpg"] = _photo(im, rng)

    im = _shade(400, 300, (252, 252, 252), (235, 235, 235))  # apples
    d = ImageDraw.Draw(im)
    for i, (x, c) in enumerate([(40, (200, 30, 30)), (150, (120, 180, 40)), (260, (210, 50, 40))]):
        d.ellipse((x, 110 - 10 * i, x + 100, 210 - 10 * i), fill=c)
        d.ellipse((x + 25, 125 - 10 * i, x + 45, 145 - 10 * i), fill=(250, 240, 230))
        d.line((x + 50, 110 - 10 * i, x + 55, 85 - 10 * i), fill=(90, 60, 30), width=5)
    out["apples.jpg"] = _photo(im, rng)

    im = _shade(500, 300, (245, 248, 252), (215, 225, 235))  # running shoe
    d = ImageDraw.Draw(im)
    d.polygon([(60, 220), (120, 120), (260, 110), (330, 170), (450, 190), (450, 240), (60, 240)],
              fill=(40, 90, 200))
    d.rectangle((60, 235, 450, 260), fill=(245, 245, 245))
    for i in range(5):
        d.line((150 + 22 * i, 125, 170 + 22 * i, 175), fill=(240, 240, 240), width=4)
    out["shoe.jpg"] = _photo(im, rng)

    thumb = _shade(60, 60, (240, 240, 240), (200, 200, 200))  # a thumbnail: too few pixels
    ImageDraw.Draw(thumb).ellipse((10, 10, 50, 50), fill=(200, 30, 30))
    out["thumb.jpg"] = _photo(thumb, rng)

    banner = _shade(1000, 200, (255, 120, 40), (240, 60, 60))  # a promotion banner
    ImageDraw.Draw(banner).rectangle((40, 60, 520, 140), fill=(255, 255, 255))
    out["banner.jpg"] = _photo(banner, rng)
    return out


LINES = [
    ({"id": "sku-1001", "image": "images/mug.jpg", "title": "白色陶瓷马克杯",
      "text": "白色陶瓷马克杯 350毫升 大容量办公室咖啡杯 可微波炉加热",
      "url": "https://shop.example.cn/item/1001"}, "kept"),
    ({"id": "sku-1002", "image": "images/mug.jpg", "title": "情侣马克杯",
      "text": "简约情侣马克杯 白色陶瓷 送礼佳品",
      "url": "https://shop.example.cn/item/1002"}, "kept"),
    ({"id": "sku-1003", "image": "images/dress.jpg", "title": "红色连衣裙",
      "text": "夏季新款红色连衣裙 修身显瘦 无袖中长款",
      "url": "https://shop.example.cn/item/1003"}, "kept"),
    ({"id": "sku-1004", "image": "images/teapot.jpg", "title": "紫砂壶",
      "text": "宜兴紫砂壶 手工原矿紫泥 西施壶 容量220毫升",
      "url": "https://shop.example.cn/item/1004"}, "kept"),
    ({"id": "sku-1005", "image": "images/apples.jpg", "title": "新鲜苹果",
      "text": "新鲜水果 红富士苹果 青苹果 混合装 三斤",
      "url": "https://shop.example.cn/item/1005"}, "kept"),
    ({"id": "sku-1006", "image": "images/shoe.jpg", "title": "跑步鞋",
      "text": "男款轻便跑步鞋 蓝色 透气网面 减震运动鞋",
      "url": "https://shop.example.cn/item/1006"}, "kept"),
    ({"id": "sku-1007", "image": "images/flowers.jpg", "title": "鲜花",
      "text": "鲜花速递 粉色花束 生日送花 同城配送",
      "url": "https://shop.example.cn/item/1007"}, "kept"),
    ({"id": "sku-1008", "image": "images/portrait.jpg", "title": "装饰画",
      "text": "复古人物肖像装饰画 客厅卧室挂画 带画框",
      "url": "https://shop.example.cn/item/1008"}, "kept"),
    ({"id": "sku-1009", "image": "images/thumb.jpg", "text": "小号红色圆形贴纸 一百枚装"},
     "too_few_pixels"),
    ({"id": "sku-1010", "image": "images/banner.jpg", "text": "限时促销 全场五折 满减优惠"},
     "aspect_ratio"),
    ({"id": "sku-1011", "image": "images/no_such_file.jpg", "text": "缺少图片文件的商品条目"},
     "file_not_found"),
    ({"id": "sku-1012", "image": "https://img.shop.example.cn/p/1012.jpg",
      "text": "需要从网上下载图片的商品 蓝色背包"}, "download_off"),
    ({"id": "sku-1013", "image": "images/teapot.jpg", "text": "茶壶"}, "text_too_short"),
]
BAD_JSON_LINE = '{"id": "sku-1014", "image": "images/mug.jpg", "text": "未闭合的 JSON'


def build() -> dict[Path, bytes]:
    files: dict[Path, bytes] = {}
    for name, im in drawn().items():
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=85)
        files[HERE / "images" / name] = buf.getvalue()
    for ours, theirs in PILLOW_COPIES.items():
        files[HERE / "images" / ours] = (PILLOW_DIR / theirs).read_bytes()
    lines = [json.dumps({**obj, "expect": expect}, ensure_ascii=False) for obj, expect in LINES]
    lines.insert(9, BAD_JSON_LINE)
    files[HERE / "listing.jsonl"] = ("\n".join(lines) + "\n").encode("utf-8")
    return files


def main(argv: list[str]) -> int:
    files = build()
    if "--check" in argv:
        bad = [str(p) for p, data in files.items() if not p.exists() or p.read_bytes() != data]
        if bad:
            print("differs from what build_listing.py builds: " + ", ".join(bad))
            return 1
        print(f"ok: {len(files)} files")
        return 0
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    print(f"wrote {len(files)} files under {HERE} ({sum(map(len, files.values())) / 1e3:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
