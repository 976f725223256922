"""The image side of the dedup index of earlier batches (``corpus/dedup/index.py`` holds the text
side and says why batches need one): the image-text rows of a batch that repeat an image kept by
an earlier batch, by the rules of ``corpus.dedup.images``:

* exact: the same SHA-256 of the bytes (``exact_duplicate``);
* near: perceptual hashes within ``image_hamming`` bits, found through the same ``radius + 1``
  blocks (pigeonhole: two hashes that close agree on one block) (``near_duplicate``, score the
  distance). ``duplicate_of`` is the closest earlier image, the smallest node key among equals.

One folder per batch, ``.npy`` files opened memory-mapped:

    keys.npy        (n,) node keys of the kept rows
    sha.npy         (n,) sorted SHA-256 digests (32 bytes each), sha_doc.npy their rows
    phash.npy       (n,) uint64 perceptual hashes (rows without one are left out of the blocks)
    block<i>.npy    sorted values of block i of the hashes, block<i>_doc.npy their rows
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import fsspec
import numpy as np

from corpus.dedup.config import DedupConfig
from corpus.dedup.image_hash import HASH_BITS, block_spans
from corpus.dedup.index import Earlier, load_array, write_folder
from corpus.dedup.survivor import id_of


def _blocks(hashes: np.ndarray, radius: int) -> list[np.ndarray]:
    out = []
    for lo, hi in block_spans(radius):
        mask = np.uint64((1 << (hi - lo)) - 1)
        out.append((hashes >> np.uint64(HASH_BITS - hi)) & mask)
    return out


def write_image_part(folder: str, rows: Iterable[tuple[str, str, int | None]], cfg: DedupConfig
                     ) -> int:
    """Write the image part of one batch's kept rows, ``(node key, sha256 hex, phash or None)``
    each; returns the number of rows. Written under ``folder + '.tmp'``, then renamed."""
    keys, shas, hashes, hashed = [], [], [], []
    for i, (key, sha, phash) in enumerate(rows):
        keys.append(key)
        shas.append(bytes.fromhex(sha))
        hashes.append(phash or 0)
        if phash is not None:
            hashed.append(i)
    arrays: dict[str, np.ndarray] = {
        "keys": np.array(keys, dtype="S") if keys else np.zeros(0, dtype="S1")}
    sha = np.array(shas, dtype="S32") if shas else np.zeros(0, dtype="S32")
    order = np.argsort(sha, kind="stable")
    arrays["sha"], arrays["sha_doc"] = sha[order], order.astype(np.uint32)
    ph = np.array(hashes, dtype=np.uint64)
    arrays["phash"] = ph
    with_hash = np.array(hashed, dtype=np.int64)
    for b, values in enumerate(_blocks(ph[with_hash], cfg.image_hamming)):
        order = np.argsort(values, kind="stable")
        arrays[f"block{b}"] = values[order]
        arrays[f"block{b}_doc"] = with_hash[order].astype(np.uint32)
    write_folder(folder, arrays)
    return len(keys)


def merge_image_parts(folders: Sequence[str], folder: str, cfg: DedupConfig) -> int:
    """Write one image part holding the rows of the parts in ``folders``, in their order, to
    ``folder`` (``index.merge_parts`` for images); returns its rows."""
    def rows():
        for f in folders:
            fs, root = fsspec.core.url_to_fs(f)
            keys = load_array(fs, f"{root}/keys.npy")
            sha, sha_doc = load_array(fs, f"{root}/sha.npy"), load_array(fs, f"{root}/sha_doc.npy")
            phash = load_array(fs, f"{root}/phash.npy")
            hex_of = {int(d): bytes(v).hex() for v, d in zip(sha, sha_doc)}
            hashed = set(np.asarray(load_array(fs, f"{root}/block0_doc.npy")).tolist())
            for i in range(len(keys)):
                yield (bytes(keys[i]).decode("ascii"), hex_of[i],
                       int(phash[i]) if i in hashed else None)

    return write_image_part(folder, rows(), cfg)


def _matches(sorted_values: np.ndarray, docs: np.ndarray, value) -> np.ndarray:
    lo = np.searchsorted(sorted_values, value, side="left")
    hi = np.searchsorted(sorted_values, value, side="right")
    return np.asarray(docs[lo:hi], dtype=np.int64)


class EarlierImages:
    """The image parts of the earlier batches; ``check`` finds the rows that repeat theirs."""

    def __init__(self, folders: Sequence[str], cfg: DedupConfig):
        self.cfg = cfg
        self.parts = []
        n_blocks = len(block_spans(cfg.image_hamming))
        names = ["keys", "sha", "sha_doc", "phash",
                 *(f"block{b}{s}" for b in range(n_blocks) for s in ("", "_doc"))]
        for folder in folders:
            fs, root = fsspec.core.url_to_fs(folder)
            self.parts.append({n: load_array(fs, f"{root}/{n}.npy") for n in names})

    def check(self, rows: Sequence[tuple[str, int | None]]) -> list[Earlier | None]:
        """For each ``(sha256 hex, phash or None)``: the earlier image it repeats, or None."""
        out: list[Earlier | None] = [None] * len(rows)
        radius = self.cfg.image_hamming
        for i, (sha, phash) in enumerate(rows):
            digest = np.array([bytes.fromhex(sha)], dtype="S32")[0]
            exact = sorted(bytes(part["keys"][d]).decode("ascii") for part in self.parts
                           for d in _matches(part["sha"], part["sha_doc"], digest))
            if exact:
                out[i] = Earlier("exact_duplicate", id_of(exact[0]))
                continue
            if phash is None:
                continue
            query = _blocks(np.array([phash], dtype=np.uint64), radius)
            best: tuple[int, str] | None = None
            for part in self.parts:
                near = set()
                for b, value in enumerate(query):
                    near.update(_matches(part[f"block{b}"], part[f"block{b}_doc"],
                                         value[0]).tolist())
                for d in near:
                    dist = (int(part["phash"][d]) ^ phash).bit_count()
                    if dist <= radius:
                        cand = (dist, bytes(part["keys"][d]).decode("ascii"))
                        best = cand if best is None or cand < best else best
            if best is not None:
                out[i] = Earlier("near_duplicate", id_of(best[1]), float(best[0]))
        return out


__all__ = ["EarlierImages", "merge_image_parts", "write_image_part"]
