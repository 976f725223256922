"""The image-text path in Beam (pipelines/images.py): pages' image references joined by URL with
image records, a listing with files on disk, optional downloads from a local server, written
with the project's sharded sink and read back with pyarrow, every image decoded with Pillow."""

from __future__ import annotations

import io
import json
import shutil
import threading
from collections import Counter
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to
from PIL import Image

from corpus.document import Document, ImageRef, Page
from corpus.fetch.config import FetchConfig
from corpus.images.config import ImageConfig
from corpus.shards import ShardConfig
from pipelines.images import ImagePairs
from pipelines.sink import WriteShards
from schemas import validate_table

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "images"
HOST = "https://img.example.cn"


def image_page(name: str, offset: int) -> Page:
    ctype = "image/gif" if name.endswith(".gif") else "image/jpeg"
    return Page(id=f"img{offset}", url=f"{HOST}/{name}", source="common_crawl",
                body=(FIX / name).read_bytes(), content_type=ctype, status=200,
                input_file="crawl-0.warc.gz", offset=offset)


def docs() -> list[Document]:
    """Two pages. Page 1 shows flower.jpg twice (and page 2 once more), a truncated JPEG, the
    4x4 image, a favicon, a spacer and an image the crawl does not hold."""
    p1 = Document(id="d1", source="common_crawl", text="正文", url="https://news.example.cn/1",
                  input_file="crawl-0.warc.gz", offset=10, images=[
                      ImageRef(f"{HOST}/flower.jpg", alt="春天盛开的花朵"),
                      ImageRef(f"{HOST}/truncated_jpeg.jpg", alt="一张被截断的图片"),
                      ImageRef(f"{HOST}/app13.jpg", caption="很小很小的图片"),
                      ImageRef(f"{HOST}/favicon.ico", alt="网站图标"),
                      ImageRef(f"{HOST}/img/spacer.gif", alt="占位"),
                      ImageRef(f"{HOST}/elsewhere.jpg", alt="不在抓取里的图片"),
                      ImageRef(f"{HOST}/flower.jpg", alt="again"),
                  ])
    p2 = Document(id="d2", source="encyclopedia", text="正文", url="https://baike.example.cn/2",
                  input_file="crawl-1.warc.gz", offset=20, images=[
                      ImageRef(f"{HOST}/flower.jpg", caption="百科里的花朵插图"),
                      ImageRef(f"{HOST}/exif_gps_typeerror.jpg", alt="山间的小路和树林",
                               width=800, height=531),
                      ImageRef(f"{HOST}/hopper.jpg", alt="ok"),  # "ok": no Chinese candidate (alt only, no context)
                  ])
    return [p1, p2]


def crawl_images() -> list[Page]:
    return [image_page(n, i) for i, n in enumerate(
        ["flower.jpg", "truncated_jpeg.jpg", "app13.jpg", "exif_gps_typeerror.jpg",
         "hopper.jpg", "iptc.jpg"])]  # iptc.jpg: in the crawl, on no page


def listing(folder: Path) -> str:
    (folder / "img").mkdir()
    for name in ("hopper.webp", "junk_jpeg_header.jpg", "hopper_orientation_6.jpg"):
        shutil.copy(FIX / name, folder / "img" / name)
    lines = [
        {"image": "img/hopper.webp", "text": "复古风格人物肖像装饰画 客厅挂画", "id": "sku-1"},
        {"image": "img/junk_jpeg_header.jpg", "text": "秋天草地风景照片 高清", "id": "sku-2"},
        {"image": "img/hopper_orientation_6.jpg", "text": "人物肖像照片 竖版", "id": "sku-3"},
        {"image": "img/missing.jpg", "text": "找不到的商品图片", "id": "sku-4"},
        {"image": "http://127.0.0.1:9/p.jpg", "text": "需要下载的商品图片", "id": "sku-5"},
    ]
    path = folder / "listing.jsonl"
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    return str(path)


def run(tmp: Path, cfg: ImageConfig, out: Path) -> None:
    listing_path = listing(tmp)
    with beam.Pipeline(runner=FnApiRunner()) as p:
        rows, rejected = (
            p | "Docs" >> beam.Create(docs()),
            p | "Pages" >> beam.Create(crawl_images()),
            p | "Listings" >> beam.Create([listing_path]),
        ) | ImagePairs(cfg)
        {"image_text": rows} | WriteShards(str(out), 2, ShardConfig())
        (rejected
         | beam.Map(lambda r: f"{r.kind}|{r.stage}|{r.reason}|{r.image_url.rsplit('/', 1)[-1]}")
         | beam.combiners.ToList()
         | beam.Map(lambda xs: (out / "rejected.json").write_text(json.dumps(sorted(xs)))))


@pytest.fixture(scope="module")
def offline(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("images")
    out = tmp / "out"
    run(tmp, ImageConfig(), out)
    return out


def test_image_text_rows_read_back_and_every_image_decodes(offline):
    table = pq.read_table(offline / "image_text")
    validate_table(table, "image_text")
    rows = table.to_pylist()
    for row in rows:
        im = Image.open(io.BytesIO(row["image"]["bytes"]))  # image_text 2.0: the HF Image struct
        im.load()
        assert (im.format, im.size) == (row["format"], (row["width"], row["height"]))
        assert im.mode == "RGB" and max(im.size) <= 512
    got = sorted((r["source"], r["image_url"].rsplit("/", 1)[1], r["text"]) for r in rows)
    assert got == [
        ("ecommerce", "hopper.webp", "复古风格人物肖像装饰画 客厅挂画"),
        ("ecommerce", "hopper_orientation_6.jpg", "人物肖像照片 竖版"),
        ("encyclopedia", "exif_gps_typeerror.jpg", "山间的小路和树林"),
        ("encyclopedia", "flower.jpg", "百科里的花朵插图"),
        ("webpage", "flower.jpg", "春天盛开的花朵"),
    ]
    flowers = [r for r in rows if r["image_url"].endswith("flower.jpg")]
    assert len({r["sha256"] for r in flowers}) == 1  # one image, decoded once, two pairs
    assert {r["url"] for r in flowers} == {"https://news.example.cn/1",
                                           "https://baike.example.cn/2"}
    exif = next(r for r in rows if r["image_url"].endswith("exif_gps_typeerror.jpg"))
    assert (exif["orig_width"], exif["orig_height"], exif["width"], exif["height"]) == (
        800, 531, 512, 340)
    assert exif["orig_format"] == "JPEG" and exif["jpeg_quality"] == 84


def test_every_drop_has_its_reason(offline):
    got = Counter(json.loads((offline / "rejected.json").read_text()))
    assert got == Counter([
        "image_text|image_pairs|unsupported_format|favicon.ico",
        "image_text|image_pairs|spacer|spacer.gif",
        "image_text|image_pairs|duplicate_in_page|flower.jpg",
        "image_text|clean.language|not_chinese|hopper.jpg",
        "image_text|image_decode|truncated|truncated_jpeg.jpg",
        "image_text|image_filter|too_few_pixels|app13.jpg",
        "image_text|image_fetch|not_in_crawl|elsewhere.jpg",
        "image_text|image_decode|corrupt_header|junk_jpeg_header.jpg",
        "image_text|image_fetch|file_not_found|missing.jpg",
        "image_text|image_fetch|download_off|p.jpg",
        "image|image_join|no_pair|iptc.jpg",  # fetched by the crawl, used by no pair
        "image|image_join|no_pair|hopper.jpg",  # its only pair had no Chinese text
    ])


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_downloads_fill_the_gaps_when_switched_on(tmp_path):
    """With images.download on, the listing's URL is fetched from a local server."""
    www = tmp_path / "www"
    www.mkdir()
    shutil.copy(FIX / "flower2.jpg", www / "p.jpg")
    srv = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(www)))
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        port = srv.server_port
        item = {"image": f"http://127.0.0.1:{port}/p.jpg", "text": "下载来的鲜花商品图片"}
        gone = {"image": f"http://127.0.0.1:{port}/gone.jpg", "text": "服务器上没有的图片"}
        path = tmp_path / "shop.jsonl"
        path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in (item, gone)))
        cfg = ImageConfig(download=True)
        fetch = FetchConfig(allow_addresses=("127.0.0.1",))
        with beam.Pipeline(runner=FnApiRunner()) as p:
            rows, rejected = (
                p | "Docs" >> beam.Create([Document(id="x", source="forum", text="t")]),
                p | "Pages" >> beam.Create([image_page("hopper.jpg", 0)]),
                p | "Listings" >> beam.Create([str(path)]),
            ) | ImagePairs(cfg, fetch=fetch)
            assert_that(rows | beam.Map(lambda r: (r["text"], r["orig_width"],
                                                   r["orig_sha256"][:8])),
                        equal_to([("下载来的鲜花商品图片", 300, _sha8(FIX / "flower2.jpg"))]),
                        label="Rows")
            assert_that(rejected | beam.Map(lambda r: (r.stage, r.reason)),
                        equal_to([("image_fetch", "http_404"), ("image_join", "no_pair")]),
                        label="Rejected")
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def _sha8(path: Path) -> str:
    import hashlib
    return hashlib.sha256(path.read_bytes()).hexdigest()[:8]


def test_m6_inspect_shows_and_writes_images(offline, tmp_path, capsys):
    from corpus.inspect import main as inspect_main

    first_file = sorted((offline / "image_text").glob("*.parquet"))[0]
    row0 = pq.read_table(first_file).slice(0, 1).to_pylist()[0]
    assert inspect_main([str(first_file), "--head", "1"]) == 0
    assert f"JPEG {row0['width']}x{row0['height']}" in capsys.readouterr().out
    out = tmp_path / "row.jpg"
    assert inspect_main([str(first_file), "--image", "0", "--out", str(out)]) == 0
    assert out.read_bytes() == row0["image"]["bytes"]
    im = Image.open(out)
    im.load()
    assert im.format == "JPEG" and im.size == (row0["width"], row0["height"])


def test_image_pairs_takes_its_own_config_only():
    """The image path is given ``CorpusConfig.images``, never the whole config to search."""
    from corpus.config import CorpusConfig

    cfg = ImageConfig(download=True)
    assert ImagePairs(cfg).cfg is cfg and ImagePairs().cfg == ImageConfig()
    with pytest.raises(TypeError, match="takes an ImageConfig .*not a CorpusConfig"):
        ImagePairs(CorpusConfig())
