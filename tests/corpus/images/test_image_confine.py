"""Input confinement of image listings (corpus/images/confine.py, issue 15.3), on Pillow's real
photos: a listing may read inside its own folder and the allowed roots, nothing else, and nothing
of a refused file reaches any output."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from corpus.images.config import ImageConfig
from corpus.images.confine import Refused, check, confine, resolve, roots_for
from corpus.images.join import JoinImages
from corpus.images.listing import ReadListingFile, load_file
from corpus.images.process import ProcessImages
from corpus.stage import split
from schemas import ImageTextRecord, RejectedRecord

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "images"
SECRET = b"root:x:0:0:SECRET-MARKER:/root:/bin/bash\n"


def layout(tmp_path: Path) -> tuple[Path, Path, Path]:
    """shop/ (the listing's folder, with img/hopper.jpg) beside outside/ (flower.jpg and a
    text file standing for /etc/passwd)."""
    shop, outside = tmp_path / "shop", tmp_path / "outside"
    (shop / "img").mkdir(parents=True)
    outside.mkdir()
    shutil.copy(FIX / "hopper.jpg", shop / "img" / "hopper.jpg")
    shutil.copy(FIX / "flower.jpg", outside / "flower.jpg")
    (outside / "passwd").write_bytes(SECRET)
    return shop, outside, outside / "passwd"


def listing(shop: Path, images: list[str]) -> str:
    path = shop / "listing.jsonl"
    path.write_text("\n".join(json.dumps({"image": im, "text": f"第{i}件商品 紫砂茶壶",
                                          "id": f"sku-{i}"}, ensure_ascii=False)
                              for i, im in enumerate(images)) + "\n", encoding="utf-8")
    return str(path)


def run_images(path: str, cfg: ImageConfig) -> tuple[list, list]:
    """Listing -> pairs -> join (reads the files) -> image stage, as the pipeline chains them."""
    pairs, rejected = split(ReadListingFile(cfg).run([path]))
    kept, later = join_and_process(pairs, cfg)
    return kept, rejected + later


def join_and_process(pairs: list, cfg: ImageConfig) -> tuple[list, list]:
    rejected: list = []
    join, process = JoinImages(cfg), ProcessImages(cfg)
    by_key: dict[str, list] = {}
    for p in pairs:
        by_key.setdefault(p.image_path or p.image_url, []).append(p)
    kept = []
    for key, group in sorted(by_key.items()):
        for job in join.job(key, group, []):
            if isinstance(job, RejectedRecord):
                rejected.append(job)
                continue
            k, r = split(process.run([job]))
            kept += k
            rejected += r
    return kept, rejected


def test_each_escape_is_refused_with_its_reason(tmp_path):
    shop, outside, passwd = layout(tmp_path)
    os.symlink(outside / "flower.jpg", shop / "img" / "link.jpg")  # a link out of the folder
    os.symlink(shop / "img" / "hopper.jpg", shop / "img" / "inner.jpg")  # a link inside it
    refs = ["img/hopper.jpg", "./img/../img/hopper.jpg", "img/inner.jpg",
            "../outside/flower.jpg", "img/../../outside/passwd", str(passwd),
            f"file://{passwd}", "/proc/self/environ", "img/link.jpg",
            "simplecache::http://127.0.0.1:8000/x.jpg", "nosuchproto://host/a.jpg",
            "img/a\x00.jpg"]
    path = listing(shop, refs)
    pairs, rejected = split(ReadListingFile().run([path]))
    assert [p.image_path for p in pairs] == [str(shop / "img" / "hopper.jpg"),
                                             str(shop / "img" / "hopper.jpg"),
                                             str(shop / "img" / "inner.jpg")]
    assert [(r.offset, r.stage, r.reason) for r in rejected] == [
        (4, "read_listing", "outside_root"), (5, "read_listing", "outside_root"),
        (6, "read_listing", "outside_root"), (7, "read_listing", "outside_root"),
        (8, "read_listing", "outside_root"), (9, "read_listing", "outside_root"),
        (10, "read_listing", "chained_protocol"), (11, "read_listing", "unknown_protocol"),
        (12, "read_listing", "bad_path")]
    assert "images.listing_roots" in rejected[0].detail


def test_allowed_roots_open_absolute_paths_and_file_urls(tmp_path):
    shop, outside, _ = layout(tmp_path)
    refs = [str(outside / "flower.jpg"), f"file://{outside / 'flower.jpg'}",
            "../outside/flower.jpg", str(tmp_path / "elsewhere.jpg")]
    cfg = ImageConfig(listing_roots=(str(outside),))
    pairs, rejected = split(ReadListingFile(cfg).run([listing(shop, refs)]))
    assert [p.image_path for p in pairs] == [str(outside / "flower.jpg"),
                                             f"file://{outside / 'flower.jpg'}",
                                             str(outside / "flower.jpg")]
    assert [(r.offset, r.reason) for r in rejected] == [(4, "outside_root")]
    # A root is a folder, not a prefix of names: "outside" does not allow "outside-2".
    (tmp_path / "outside-2").mkdir()
    try:
        check(str(tmp_path / "outside-2" / "a.jpg"), roots_for(str(shop / "l.jsonl"),
                                                               (str(outside),)))
        raise AssertionError("outside-2 was allowed")
    except Refused as e:
        assert e.reason == "outside_root"


def test_fsspec_roots_keep_their_protocol():
    assert confine("img/a.jpg", "s3://bucket/shop/l.jsonl") == "s3://bucket/shop/img/a.jpg"
    roots = roots_for("s3://bucket/shop/l.jsonl", ("gs://pics/2024",))
    check("gs://pics/2024/a.jpg", roots)
    for target, reason in [("s3://bucket/other/a.jpg", "outside_root"),
                           ("s3://bucket/shop/../other/a.jpg", "outside_root"),
                           ("gs://pics/2025/a.jpg", "outside_root"),
                           ("/bucket/shop/a.jpg", "outside_root"),
                           ("simplecache::s3://bucket/shop/a.jpg", "chained_protocol"),
                           (resolve("a::file:/etc/passwd", "s3://bucket/shop/l.jsonl"),
                            "chained_protocol")]:
        try:
            check(target, roots)
            raise AssertionError(f"{target} was allowed")
        except Refused as e:
            assert e.reason == reason, target
    # A chain is allowed only where a root is spelled with the same chain.
    check("simplecache::s3://bucket/c/a.jpg",
          roots_for("/l.jsonl", ("simplecache::s3://bucket/c",)))


def test_no_byte_of_a_refused_file_reaches_any_output(tmp_path):
    shop, outside, passwd = layout(tmp_path)
    refs = ["img/hopper.jpg", str(passwd), f"file://{passwd}", "../outside/passwd"]
    kept, rejected = run_images(listing(shop, refs), ImageConfig())
    assert [type(r) for r in kept] == [ImageTextRecord]
    assert sorted(r.reason for r in rejected) == ["outside_root"] * 3
    for row in [*kept, *rejected]:
        blob = repr(row.to_row()).encode()
        assert b"SECRET" not in blob and SECRET[:8].hex().encode() not in blob


def test_a_link_swapped_in_after_the_listing_was_read_is_refused_on_open(tmp_path):
    shop, outside, passwd = layout(tmp_path)
    cfg = ImageConfig()
    pairs, _ = split(ReadListingFile(cfg).run([listing(shop, ["img/hopper.jpg"])]))
    target = shop / "img" / "hopper.jpg"
    target.unlink()
    os.symlink(passwd, target)
    roots = roots_for(pairs[0].input_file, cfg.listing_roots)
    assert load_file(pairs[0].image_path, 10_000, roots) == (None, "outside_root")
    kept, rejected = join_and_process(pairs, cfg)
    assert kept == [] and [(r.stage, r.reason) for r in rejected] == [
        ("image_fetch", "outside_root")]
    assert "SECRET" not in repr(rejected[0].to_row())


def test_a_fifo_or_a_folder_is_not_read(tmp_path):
    shop, _, _ = layout(tmp_path)
    os.mkfifo(shop / "img" / "pipe.jpg")  # opening it for reading would wait for a writer
    (shop / "img" / "dir.jpg").mkdir()
    roots = roots_for(str(shop / "listing.jsonl"))
    assert load_file(str(shop / "img" / "pipe.jpg"), 10_000, roots) == (None, "not_a_file")
    assert load_file(str(shop / "img" / "dir.jpg"), 10_000, roots) == (None, "not_a_file")
    assert load_file(str(shop / "img" / "none.jpg"), 10_000, roots) == (None, "file_not_found")
    size = (shop / "img" / "hopper.jpg").stat().st_size
    assert load_file(str(shop / "img" / "hopper.jpg"), size - 1, roots) == (
        None, "file_too_large")
    data, status = load_file(str(shop / "img" / "hopper.jpg"), size, roots)
    assert status == "ok" and data == (FIX / "hopper.jpg").read_bytes()
