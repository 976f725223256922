"""The image stage (corpus/images/process.py) and the join by URL (join.py) on real images."""

from __future__ import annotations

import io
import pickle
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest
from PIL import Image

from corpus.dedup.image_hash import hamming, phash_of_bytes
from corpus.document import Page
from corpus.images.config import ImageConfig, ImageFilterConfig
from corpus.images.join import IMAGES, PAIRS, JoinImages, needs_download, pair_key, url_key
from corpus.images.process import ProcessImages
from corpus.images.records import ImageJob, ImagePair
from corpus.stage import split
from schemas import IMAGE_TEXT_SCHEMA, ImageTextRecord, validate_table
from schemas.image_column import with_image_structs

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "images"

# Pillow's test images and what must become of them (issue 5, point 8).
EXPECTED = {
    "truncated_jpeg.jpg": ("image_decode", "truncated"),
    "junk_jpeg_header.jpg": ("image_decode", "corrupt_header"),
    "app13.jpg": ("image_filter", "too_few_pixels"),  # 4 x 4
    "exif_gps.jpg": ("image_filter", "too_few_pixels"),  # 8 x 8
    "hopper_resized.gif": ("image_filter", "too_few_pixels"),  # 64 x 64 = 4096
    "hopper_16bit_qtables.jpg": ("image_quality", "low_jpeg_quality"),  # estimated quality 13
    "pil_sample_rgb.jpg": ("image_quality", "low_entropy"),  # the word RED on black
    "flower.jpg": None, "flower2.jpg": None, "hopper.jpg": None, "hopper.webp": None,
    "hopper_gray.jpg": None, "hopper_orientation_6.jpg": None, "iptc.jpg": None,
    "exif_gps_typeerror.jpg": None, "sugarshack_bad_mpo_header.jpg": None,
}


def make_pair(name: str, n: int = 0, source: str = "webpage") -> ImagePair:
    url = f"https://img.example.cn/{name}"
    return ImagePair(id=f"{name}-{n}", source=source, text=f"第{n}张图片的说明文字",
                     image_url=url, url=f"https://news.example.cn/p{n}.html",
                     alt="说明", input_file="crawl.warc.gz", offset=n)


def job(name: str, n_pairs: int = 1) -> ImageJob:
    return ImageJob(f"https://img.example.cn/{name}",
                    [make_pair(name, i) for i in range(n_pairs)],
                    body=(FIX / name).read_bytes(), origin="crawl")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_pillow_images_are_kept_or_rejected_for_the_right_reason(name):
    kept, rejected = split(ProcessImages().run([job(name)]))
    if EXPECTED[name] is None:
        assert len(kept) == 1 and not rejected
        rec = kept[0]
        assert isinstance(rec, ImageTextRecord)
        back = Image.open(io.BytesIO(rec.image))
        back.load()
        assert back.format == rec.format == "JPEG" and back.mode == "RGB"
        assert back.size == (rec.width, rec.height)
        assert max(rec.width, rec.height) <= 512
        assert rec.orig_width * rec.orig_height >= 5000
    else:
        assert not kept
        assert [(r.stage, r.reason, r.kind) for r in rejected] == [(*EXPECTED[name],
                                                                   "image_text")]


def test_row_facts():
    (rec,) = ProcessImages().run([job("exif_gps_typeerror.jpg")])
    assert (rec.orig_width, rec.orig_height, rec.orig_format) == (800, 531, "JPEG")
    assert (rec.width, rec.height) == (512, 340)
    assert rec.jpeg_quality == 84 and rec.sharpness > 100 and rec.entropy > 6
    import hashlib
    data = (FIX / "exif_gps_typeerror.jpg").read_bytes()
    assert rec.orig_sha256 == hashlib.sha256(data).hexdigest()
    assert rec.sha256 == hashlib.sha256(rec.image).hexdigest()
    assert rec.text == "第0张图片的说明文字" and rec.n_chars == 10 and rec.n_tokens == 10
    # the dedup issue's hash of the stored pixels; recomputable from the stored bytes
    assert len(rec.phash) == 16
    assert hamming(rec.phash, phash_of_bytes(rec.image)) <= 2
    assert (rec.url, rec.image_url, rec.alt) == ("https://news.example.cn/p0.html",
                                                 "https://img.example.cn/exif_gps_typeerror.jpg",
                                                 "说明")


def test_orientation_is_applied_to_the_stored_image():
    (rec,) = ProcessImages().run([job("hopper_orientation_6.jpg")])
    stored = Image.open(io.BytesIO(rec.image)).convert("L").resize((16, 16))
    upright = Image.open(FIX / "hopper.jpg").convert("L").resize((16, 16))
    diff = sum(abs(a - b) for a, b in zip(stored.getdata(), upright.getdata())) / 256
    assert diff < 12


def test_one_image_many_pairs_is_processed_once_and_fanned_out():
    out = list(ProcessImages().run([job("flower.jpg", n_pairs=3)]))
    assert len(out) == 3 and len({r.sha256 for r in out}) == 1
    assert [r.id for r in out] == ["flower.jpg-0", "flower.jpg-1", "flower.jpg-2"]


def test_rejected_image_rejects_every_pair():
    out = list(ProcessImages().run([job("truncated_jpeg.jpg", n_pairs=2)]))
    assert [(r.reason, r.id) for r in out] == [("truncated", "truncated_jpeg.jpg-0"),
                                               ("truncated", "truncated_jpeg.jpg-1")]


def test_shared_image_is_site_chrome():
    out = list(ProcessImages(ImageConfig(max_pages_per_image=2)).run([job("flower.jpg", 3)]))
    assert {(r.stage, r.reason, r.score) for r in out} == {("image_pairs", "shared_image", 3.0)}


def test_missing_bytes_carry_the_fetch_status():
    j = ImageJob("https://img.example.cn/x.jpg", [make_pair("x.jpg")], fetch_status="http_404")
    (r,) = ProcessImages().run([j])
    assert (r.stage, r.reason) == ("image_fetch", "http_404")


def test_rows_validate_against_the_schema():
    records = list(ProcessImages().run([job(n) for n in EXPECTED if EXPECTED[n] is None]))
    table = pa.Table.from_pylist(with_image_structs([r.to_row() for r in records]),
                                 schema=IMAGE_TEXT_SCHEMA)
    validate_table(table, "image_text")
    assert table.num_rows == 9


# -- the content classifier hook ---------------------------------------------------------------

CLASSIFIER = '''
from corpus.stage import Verdict
SEEN = []

def make():
    def classify(image, info):
        SEEN.append((info.image_url, image.mode, image.size, info.texts))
        if "flower2" in (info.image_url or ""):
            return Verdict.drop("nsfw", 0.97, "test rule")
        if "iptc" in (info.image_url or ""):
            raise RuntimeError("model crashed")
        return Verdict.ok(0.01)
    return classify
'''


def test_content_classifier_is_called_for_every_image(tmp_path, monkeypatch):
    (tmp_path / "m6_test_classifier.py").write_text(CLASSIFIER)
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = ImageConfig(filters=ImageFilterConfig(content_classifier="m6_test_classifier:make"))
    stage = pickle.loads(pickle.dumps(ProcessImages(cfg)))  # loaded on the worker, in setup()
    names = sorted(EXPECTED)
    kept, rejected = split(stage.run([job(n) for n in names]))
    seen = sys.modules["m6_test_classifier"].SEEN
    passing = [n for n in names if EXPECTED[n] is None]
    # every image that passed the other checks, once each, as stored (RGB, <= 512)
    assert sorted(u.rsplit("/", 1)[1] for u, *_ in seen) == passing
    assert all(mode == "RGB" and max(size) <= 512 for _, mode, size, _ in seen)
    assert seen[0][3] == ("第0张图片的说明文字",)
    by_reason = {r.image_url.rsplit("/", 1)[1]: (r.stage, r.reason, r.score) for r in rejected}
    assert by_reason["flower2.jpg"] == ("image_content", "content:nsfw", 0.97)
    assert by_reason["iptc.jpg"][:2] == ("image_content", "content:error")  # fail closed
    assert len(kept) == len(passing) - 2


def test_bad_classifier_spec_is_a_clear_error():
    stage = ProcessImages(ImageConfig(filters=ImageFilterConfig(
        content_classifier="no_such_module_m6:make")))
    with pytest.raises(ValueError, match="cannot import 'no_such_module_m6'"):
        stage.setup()
    with pytest.raises(ValueError, match="package.module:factory"):
        ProcessImages(ImageConfig(filters=ImageFilterConfig(content_classifier="x"))).setup()


# -- the join by URL ---------------------------------------------------------------------------

def test_url_key():
    assert url_key("HTTP://Img.Example.CN:80/a/B.jpg?x=1#frag") == "http://img.example.cn/a/B.jpg?x=1"
    assert url_key("https://img.example.cn:8443/a.jpg") == "https://img.example.cn:8443/a.jpg"
    assert url_key("https://u:p@img.example.cn") == "https://img.example.cn/"


def page(url: str, body: bytes, status: int = 200, offset: int = 0) -> Page:
    return Page(id=f"pg{offset}", url=url, source="common_crawl", body=body,
                content_type="image/jpeg", status=status, input_file="c.warc.gz",
                offset=offset)


def test_join_takes_bytes_from_the_crawl():
    p = make_pair("flower.jpg")
    body = (FIX / "flower.jpg").read_bytes()
    pages = [page(p.image_url, b"", offset=5),  # empty: skipped
             page(p.image_url, b"x", 404, offset=1),  # an error answer comes after a 200
             page("HTTPS://IMG.EXAMPLE.CN:443/flower.jpg", body, offset=9),  # same key
             page("https://img.example.cn/FLOWER.JPG", b"other", offset=0)]  # another key
    assert [url_key(pg.url) == pair_key(p) for pg in pages] == [True, True, True, False]
    grouped = {PAIRS: [p], IMAGES: [pg for pg in pages if url_key(pg.url) == pair_key(p)]}
    (j,) = JoinImages().run([(pair_key(p), grouped)])
    assert (j.body, j.origin, j.image_file) == (body, "crawl", "c.warc.gz")


def test_join_without_pairs_is_a_no_pair_image_row():
    (r,) = JoinImages().run([("https://x.cn/a.jpg", {PAIRS: [],
                                                    IMAGES: [page("https://x.cn/a.jpg", b"abc")]})])
    assert (r.kind, r.stage, r.reason, r.source) == ("image", "image_join", "no_pair", "webpage")


def test_join_without_bytes():
    p = make_pair("x.jpg")
    (j,) = JoinImages().run([(pair_key(p), {PAIRS: [p], IMAGES: []})])
    assert (j.body, j.fetch_status) == (None, "not_in_crawl") and not needs_download(j)
    (j,) = JoinImages(ImageConfig(download=True)).run([(pair_key(p), {PAIRS: [p], IMAGES: []})])
    assert needs_download(j)
    listed = p.replace(from_listing=True, source="ecommerce")
    (j,) = JoinImages().run([(pair_key(listed), {PAIRS: [listed], IMAGES: []})])
    assert j.fetch_status == "download_off"


def test_join_reads_listing_files():
    p = ImagePair(id="l1", source="ecommerce", text="花朵", image_path=str(FIX / "flower.jpg"),
                  from_listing=True)
    (j,) = JoinImages().run([(pair_key(p), {PAIRS: [p], IMAGES: []})])
    assert (j.origin, j.body) == ("file", (FIX / "flower.jpg").read_bytes())
    gone = p.replace(image_path=str(FIX / "nope.jpg"))
    (j,) = JoinImages().run([(pair_key(gone), {PAIRS: [gone], IMAGES: []})])
    assert (j.body, j.fetch_status) == (None, "file_not_found")
    (r,) = ProcessImages().run([j])
    assert (r.stage, r.reason, r.image_url) == ("image_fetch", "file_not_found", gone.image_path)


def test_corrupted_bytes_never_raise():
    """Every fixture with flipped bytes, cut short or with junk inserted (seeded): the stage
    answers with a row or a reason, never an exception."""
    import random

    from corpus.images.filters import ImageInfo
    from corpus.images.process import ImageRejection, ProcessedImage

    stage = ProcessImages()
    rng = random.Random(5)
    reasons = Counter()
    for path in sorted(FIX.iterdir()):
        data = path.read_bytes()
        for k in range(15):
            d = bytearray(data)
            if k % 3 == 0:
                for _ in range(rng.randint(1, 20)):
                    d[rng.randrange(len(d))] = rng.randrange(256)
            elif k % 3 == 1:
                d = d[: rng.randrange(1, len(d))]
            else:
                i = rng.randrange(len(d))
                d = d[:i] + bytes(rng.randrange(256) for _ in range(50)) + d[i:]
            out = stage.process_image(bytes(d), ImageInfo(path.name, "webpage"))
            assert isinstance(out, ProcessedImage | ImageRejection)
            reasons[out.reason if isinstance(out, ImageRejection) else "kept"] += 1
    assert reasons["truncated"] > 0 and reasons["corrupt_header"] > 0 and reasons["kept"] > 0


def _encoded(kind: str) -> bytes:
    import numpy as np

    flower = Image.open(FIX / "flower.jpg")
    buf = io.BytesIO()
    if kind == "animated_gif":
        frames = [Image.fromarray(np.random.default_rng(i).integers(0, 255, (120, 160, 3),
                                                                    dtype=np.uint8))
                  for i in range(3)]
        frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    elif kind == "cmyk_jpeg":
        flower.convert("CMYK").save(buf, "JPEG")
    elif kind == "rgba_png":
        flower.convert("RGBA").save(buf, "PNG")
    else:
        flower.save(buf, kind)
    return buf.getvalue()


@pytest.mark.parametrize("kind,fmt,width", [("animated_gif", "GIF", 160),
                                            ("cmyk_jpeg", "JPEG", 480), ("rgba_png", "PNG", 480),
                                            ("TIFF", "TIFF", 480), ("BMP", "BMP", 480)])
def test_other_formats_and_modes_become_rgb_jpeg(kind, fmt, width):
    j = ImageJob("https://x.cn/a", [make_pair("a")], body=_encoded(kind))
    (rec,) = ProcessImages().run([j])
    assert (rec.orig_format, rec.width, rec.format) == (fmt, width, "JPEG")
    assert Image.open(io.BytesIO(rec.image)).mode == "RGB"
