"""The image side of the dedup index of earlier batches (corpus/dedup/index_images.py), on real
photos: the same bytes and a resized, re-encoded copy of an earlier image are found, with the
verdicts ``dedup_images`` gives for the two batches together; another photo is not."""

from __future__ import annotations

import dataclasses

from corpus.dedup.config import DedupConfig
from corpus.dedup.image_hash import hamming
from corpus.dedup.images import dedup_images, image_key, phash_int, sha256_of
from corpus.dedup.index_images import EarlierImages, merge_image_parts, write_image_part
from schemas import make_id
from tests.corpus.dedup.test_images import photo, row


def test_exact_and_resized_copies_of_earlier_images(tmp_path):
    cfg = DedupConfig()
    flower, hopper = photo("flower.jpg"), photo("hopper.jpg")
    earlier = [row(1, flower), row(2, hopper)]
    write_image_part(str(tmp_path / "images"),
                     [(image_key(r, cfg), sha256_of(r), phash_int(r)) for r in earlier], cfg)
    index = EarlierImages([str(tmp_path / "images")], cfg)
    same = dataclasses.replace(earlier[0], id=make_id("webpage", "img:3"))
    small = row(4, flower.resize((flower.width // 2, flower.height // 2)))
    other = row(5, photo("flower2.jpg"))
    unhashed = dataclasses.replace(row(6, photo("hopper_gray.jpg"), with_hash=False))
    found = index.check([(sha256_of(r), phash_int(r)) for r in (same, small, other, unhashed)])
    assert found[0].reason == "exact_duplicate" and found[0].duplicate_of == earlier[0].id
    assert found[1].reason == "near_duplicate" and found[1].duplicate_of == earlier[0].id
    assert found[1].score == hamming(phash_int(small), phash_int(earlier[0]))
    # the verdicts of one in-memory dedup over both batches
    _, rejected = dedup_images([same, small, other, unhashed], cfg, existing=earlier)
    by_id = {r.id: r.reason for r in rejected}
    for rec, verdict in zip((same, small, other, unhashed), found):
        assert by_id.get(rec.id) == (verdict.reason if verdict else None), rec.id


def test_an_empty_image_part_finds_nothing(tmp_path):
    cfg = DedupConfig()
    write_image_part(str(tmp_path / "images"), [], cfg)
    r = row(1, photo("flower.jpg"))
    assert EarlierImages([str(tmp_path / "images")], cfg).check(
        [(sha256_of(r), phash_int(r))]) == [None]


def test_a_merged_image_part_finds_what_its_parts_find(tmp_path):
    cfg = DedupConfig()
    flower, hopper = photo("flower.jpg"), photo("hopper.jpg")
    batches = [[row(1, flower)], [], [row(2, hopper), row(3, photo("hopper_gray.jpg"),
                                                          with_hash=False)]]
    folders = []
    for b, rows in enumerate(batches):
        folders.append(str(tmp_path / f"images{b}"))
        write_image_part(folders[-1], [(image_key(r, cfg), sha256_of(r), phash_int(r))
                                       for r in rows], cfg)
    assert merge_image_parts(folders, str(tmp_path / "merged"), cfg) == 3
    small = row(4, flower.resize((flower.width // 2, flower.height // 2)))
    queries = [(sha256_of(r), phash_int(r)) for r in
               (batches[2][0], small, row(5, photo("flower2.jpg")), batches[2][1])]
    merged = EarlierImages([str(tmp_path / "merged")], cfg).check(queries)
    assert merged == EarlierImages(folders, cfg).check(queries)
    assert [v.reason if v else None for v in merged] == [
        "exact_duplicate", "near_duplicate", None, "exact_duplicate"]
