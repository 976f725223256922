"""The download stage (corpus/fetch/stage.py) on batches of image jobs, against the local server,
through to the image stage's rows and reasons."""

from __future__ import annotations

import pickle
from pathlib import Path

from corpus.fetch.config import FetchConfig
from corpus.fetch.stage import FetchImages
from corpus.images.config import ImageConfig
from corpus.images.process import ProcessImages
from corpus.images.records import ImageJob, ImagePair
from corpus.stage import split

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "images"
CFG = FetchConfig(connect_timeout_s=1.0, read_timeout_s=1.0, total_timeout_s=3.0, retries=1,
                  backoff_s=0.01, per_host_delay_s=0.0, max_bytes=1_000_000,
                  allow_addresses=("127.0.0.1",))


def job(url: str, origin: str | None = "download", pages: int = 1) -> ImageJob:
    pairs = [ImagePair(id=f"{url}#{i}", source="webpage", text="一张下载的图片说明",
                       image_url=url, url=f"https://page.example.cn/{i}.html")
             for i in range(pages)]
    return ImageJob(url, pairs, origin=origin)


def test_batch_is_downloaded_with_a_status_per_url(server):
    base = f"http://127.0.0.1:{server.server_port}"
    crawl = job(base + "/img/hopper.jpg", origin="crawl")
    crawl.body = b"from the crawl"
    batch = [job(base + "/img/flower.jpg"), job(base + "/missing"), job(base + "/redirect"),
             job(base + "/big"), job(base + "/html"), crawl,
             job(base + "/img/iptc.jpg", pages=3)]
    stage = pickle.loads(pickle.dumps(FetchImages(CFG, max_pages_per_image=2)))
    out = list(stage.run([batch]))
    assert [j.key for j in out] == [j.key for j in batch]
    assert [j.fetch_status for j in out] == ["ok", "http_404", "ok", "too_large", "not_image",
                                            None, None]
    assert out[0].body == (FIX / "flower.jpg").read_bytes()
    assert out[5].body == b"from the crawl"  # not downloaded again
    assert out[6].body is None  # on too many pages to be kept: not downloaded
    assert batch[0].body is None  # inputs are not mutated

    kept, rejected = split(ProcessImages(ImageConfig(max_pages_per_image=2)).run(out))
    assert sorted(r.image_url.rsplit("/", 1)[1] for r in kept) == ["flower.jpg", "redirect"]
    assert sorted((r.stage, r.reason) for r in rejected) == [
        ("image_decode", "unknown_format"),  # "from the crawl" is not an image
        ("image_fetch", "http_404"), ("image_fetch", "not_image"),
        ("image_fetch", "too_large"),
        ("image_pairs", "shared_image"), ("image_pairs", "shared_image"),
        ("image_pairs", "shared_image")]
