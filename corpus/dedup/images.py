"""Image duplicates among ``image_text`` rows: the same bytes, or the same picture resized or
re-encoded.

The image-text path keeps one pair per image: a product photo shown with ten captions, or one
photo stored at three sizes, trains the model on one picture ten or three times.

1. exact: rows grouped by the SHA-256 of the stored image bytes (the row's ``sha256``, computed
   when empty): one survivor per group, the others ``exact_duplicate``;
2. near: rows whose perceptual hashes (``phash``, computed from the bytes when empty) are within
   ``DedupConfig.image_hamming`` bits. The hash is cut into ``radius + 1`` blocks
   (``image_hash.block_keys``), rows sharing a block are candidates, a candidate pair within the
   radius is an edge, and each connected component keeps one row; the others are
   ``near_duplicate`` with ``score`` the Hamming distance to the closest neighbour.

Survivor order (``survivor.node_key``): earlier corpus first, then ``source_priority``, then the
larger image (pixel count), then the id. ``dedup_images`` runs the steps in memory; the Beam
transform ``pipelines.dedup.DedupImages`` runs the same functions distributed.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from corpus.dedup.buckets import anchors_of
from corpus.dedup.components import connected_components
from corpus.dedup.config import DedupConfig
from corpus.dedup.image_hash import block_keys, hamming, image_sha256, parse_hex, phash_of_bytes
from corpus.dedup.survivor import id_of, is_existing, node_key, reject, rejections, split_group
from schemas import ImageTextRecord, RejectedRecord

Item = tuple[str, ImageTextRecord]


def image_key(rec: ImageTextRecord, cfg: DedupConfig, *, existing: bool = False) -> str:
    """Survivor-order key of an image-text row: larger images sort first among equals."""
    return node_key(rec.id, rec.source, existing=existing, source_priority=cfg.source_priority,
                    prefer=max(rec.width, 0) * max(rec.height, 0))


def sha256_of(rec: ImageTextRecord) -> str:
    return rec.sha256 or image_sha256(rec.image)


def phash_int(rec: ImageTextRecord) -> int | None:
    """The row's perceptual hash, from ``phash`` or the bytes; None if neither gives one."""
    if rec.phash:
        try:
            return parse_hex(rec.phash)
        except ValueError:
            pass
    if not rec.image:
        return None
    try:
        return parse_hex(phash_of_bytes(rec.image))
    except ValueError:
        return None


def hash_pairs(members: Iterable[tuple[str, int]], radius: int, max_pairs: int
               ) -> Iterator[tuple[str, str, int]]:
    """Edges (smaller key, larger key, distance) within ``radius`` among one block's members.

    Read twice, never copied: each member is compared with the block's anchors (its
    ``max_pairs`` smallest keys) smaller than itself, as ``buckets.bucket_pairs`` does."""
    anchors = anchors_of(members, max_pairs)
    if len(anchors) < 2:
        return
    keys = [k for k, _ in anchors]
    for key, h in members:
        for i in range(bisect.bisect_left(keys, key)):
            d = hamming(anchors[i][1], h)
            if d <= radius:
                yield (keys[i], key, d)


def near_image_edges(items: Sequence[tuple[str, int]], cfg: DedupConfig
                     ) -> dict[tuple[str, str], int]:
    """All edges among (key, phash) items, through the block buckets."""
    buckets: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for key, h in items:
        for bk in block_keys(h, cfg.image_hamming):
            buckets[bk].append((key, h))
    edges: dict[tuple[str, str], int] = {}
    for members in buckets.values():
        if len(members) > 1:
            for a, b, d in hash_pairs(members, cfg.image_hamming, cfg.max_bucket_pairs):
                edges[(a, b)] = d
    return edges


def dedup_images(records: Iterable[ImageTextRecord], cfg: DedupConfig,
                 existing: Iterable[ImageTextRecord] = ()
                 ) -> tuple[list[ImageTextRecord], list[RejectedRecord]]:
    """(kept rows sorted by id, rejected rows sorted by id)."""
    items: list[Item] = ([(image_key(r, cfg, existing=True), r) for r in existing]
                         + [(image_key(r, cfg), r) for r in records])
    groups: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        groups[sha256_of(item[1])].append(item)
    rejected: list[RejectedRecord] = []
    kept: list[Item] = []
    for members in groups.values():
        survivor, losers = split_group(members)
        kept.append(survivor)
        rejected.extend(rejections(losers, survivor[0], "exact_duplicate"))
    hashes = [(k, h) for k, r in kept if (h := phash_int(r)) is not None]
    edges = near_image_edges(hashes, cfg)
    label, _ = connected_components(edges.keys())
    closest: dict[str, int] = {}
    for (a, b), d in edges.items():
        closest[a] = min(closest.get(a, 64), d)
        closest[b] = min(closest.get(b, 64), d)
    out = []
    for key, rec in kept:
        root = label.get(key, key)
        if root == key:
            if not is_existing(key):
                out.append(rec)
        elif not is_existing(key):
            rejected.append(reject(rec, "near_duplicate", id_of(root), float(closest[key])))
    return sorted(out, key=lambda r: r.id), sorted(rejected, key=lambda r: (r.id, r.reason))


__all__: list[Any] = ["dedup_images", "hash_pairs", "image_key", "near_image_edges",
                      "phash_int", "sha256_of"]
