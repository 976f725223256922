"""An on-disk index of the documents kept by the earlier batches of one run, so that each batch is
deduplicated against all of them with the memory of one batch (issue 17.1, docs/design.md
"Batches").

Why: Beam's in-process runner holds every PCollection between fused steps in memory, and nothing
spills, so one pipeline over a million documents holds all of them at once. ``m6 corpus``
therefore runs a large input as batches of files (``pipelines/batch_run.py``); the Beam dedup
removes duplicates inside a batch, and this index removes the documents of a batch that repeat a
document kept by an earlier batch, by the same three rules:

* URL: the same ``normalise_url`` (``url_duplicate``);
* exact: the same ``text_hash`` (``exact_duplicate``);
* near: a shared LSH band (the same bands x rows as the Beam step), a signature estimate at
  least ``estimate_floor`` and, with ``verify = "exact"``, the exact n-gram Jaccard similarity of
  the normal texts at least the threshold (``near_duplicate``, score the similarity).

The index holds the batch's kept documents and also those it dropped as exact or near copies,
each labelled with the id of the document it was dropped for, so that a copy of a dropped copy
is dropped too, for the same document, as one pipeline's connected components would do.
``duplicate_of`` is the label of the matching entry with the smallest node key.

One part per batch (every ``MERGE_PARTS`` of them merged into one, ``pipelines/batch_run.py``),
in its own folder. On a local disk the sorted hash arrays are memory-mapped and the signatures and
texts read row by row with ``os.pread`` (``_Part`` says why); other filesystems are read whole:

    meta.json        documents, dedup settings the part was built with
    keys.npy         (n,) node keys of the documents (fixed-width bytes)
    labels.npy       (n,) the id each one counts as a copy of: its own for a kept document
    url.npy          (n,) sorted uint64 URL hashes, url_doc.npy their documents
    exact.npy        (n,) sorted uint64 text hashes, exact_doc.npy their documents
    bands.npy        (n * bands,) sorted uint64 band-key hashes, band_doc.npy their documents
    sigs.npy         (n, num_perm) uint32 MinHash signatures
    text.bin         the normal texts, UTF-8, one after the other; text_off.npy (n + 1,) offsets

Its size is about 4 * num_perm + 12 * bands + the normal text's bytes + 80 per document (about
2.5 KB on the generated news crawl); ``m6 corpus`` reports it and removes it when the run
completes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import fsspec
import numpy as np

from corpus.dedup.buckets import estimate_floor, normal_jaccard, packed_shingles
from corpus.dedup.config import DedupConfig
from corpus.dedup.minhash import minhasher
from corpus.dedup.normalise import normalise_text, normalise_texts, normalise_url
from corpus.dedup.vertices import exact_key_of

NO_HASH = np.uint64(0)  # a document without a URL
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
ARRAYS = ("keys", "labels", "url", "url_doc", "exact", "exact_doc", "bands", "band_doc", "sigs",
          "text_off")


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise on uint64 (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def band_hashes(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(docs, bands) uint64: one hash per band key (band index and its ``rows`` values), the
    same in every process; equal band keys give equal hashes."""
    m = len(sigs)
    block = np.ascontiguousarray(sigs[:, :bands * rows]).astype(np.uint64).reshape(m, bands, rows)
    with np.errstate(over="ignore"):
        h = np.broadcast_to(np.arange(1, bands + 1, dtype=np.uint64), (m, bands)).copy()
        for r in range(rows):
            h = _mix64(h * _GOLDEN + block[:, :, r])
    return h


def url_hash(url: str | None) -> np.uint64:
    key = normalise_url(url) if url else None
    if key is None:
        return NO_HASH
    h = int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogatepass"),
                                       digest_size=8).digest(), "little")
    return np.uint64(h or 1)


def exact_hash(text: str) -> np.uint64:
    return _exact_hash_of_normal(normalise_text(text))


def _exact_hash_of_normal(normal: str) -> np.uint64:
    """``exact_hash`` of a text whose normal form is ``normal`` (``text_hash``'s digest)."""
    return np.uint64(int(exact_key_of(normal)[:16], 16) or 1)


@dataclass(frozen=True)
class Earlier:
    """A document of this batch that repeats one of an earlier batch."""

    reason: str  # url_duplicate | exact_duplicate | near_duplicate
    duplicate_of: str  # id of the earlier document kept
    score: float | None = None


# ---------------------------------------------------------------- writing

def _is_local(fs) -> bool:
    return "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))


def save_array(fs, path: str, array: np.ndarray) -> None:
    """One ``.npy`` file on any fsspec filesystem (no pickles)."""
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    with fs.open(path, "wb") as f:
        f.write(buf.getvalue())


def load_array(fs, path: str) -> np.ndarray:
    """A ``.npy`` file, memory-mapped on a local disk, read whole from other filesystems."""
    if _is_local(fs):
        return np.load(path, mmap_mode="r", allow_pickle=False)
    with fs.open(path) as f:
        return np.load(io.BytesIO(f.read()), allow_pickle=False)


def write_folder(folder: str, arrays: dict[str, np.ndarray],
                 files: dict[str, bytes | Iterable[bytes]] | None = None) -> None:
    """``<name>.npy`` per array and the other ``files`` (bytes, or chunks of bytes written one
    after the other), written under ``folder + '.tmp'`` and then renamed to ``folder``, so an
    index part is whole or absent."""
    fs, root = fsspec.core.url_to_fs(folder)
    tmp = root + ".tmp"
    if fs.exists(tmp):
        fs.rm(tmp, recursive=True)
    fs.makedirs(tmp, exist_ok=True)
    for name, array in arrays.items():
        save_array(fs, f"{tmp}/{name}.npy", array)
    for name, data in (files or {}).items():
        with fs.open(f"{tmp}/{name}", "wb") as f:
            for chunk in ([data] if isinstance(data, bytes) else data):
                f.write(chunk)
    if fs.exists(root):
        fs.rm(root, recursive=True)
    fs.mv(tmp, root, recursive=True)


def write_part(folder: str, docs: Iterable[tuple[str, str, str | None, str]], cfg: DedupConfig
               ) -> dict:
    """Write the index part of one batch's documents, ``(node key, label, url, text)`` each, to
    ``folder`` (written under ``folder + '.tmp'``, then renamed, so a part is whole or absent).
    Returns its ``meta.json``."""
    bands, rows = cfg.lsh_shape()
    hasher = minhasher(cfg.minhash)
    keys: list[str] = []
    labels: list[str] = []
    urls: list[np.uint64] = []
    exact: list[np.uint64] = []
    sigs: list[np.ndarray] = []
    texts: list[bytes] = []
    batch: list[str] = []  # raw texts, normalised and signed a batch at a time

    def flush():
        if batch:
            normals = normalise_texts(batch)
            exact.extend(_exact_hash_of_normal(n) for n in normals)
            texts.extend(n.encode("utf-8", "surrogatepass") for n in normals)
            sigs.append(hasher.signatures(normals, normalised=True))
            batch.clear()

    for key, label, url, text in docs:
        keys.append(key)
        labels.append(label)
        urls.append(url_hash(url))
        batch.append(text)
        if len(batch) == cfg.minhash.batch_size:
            flush()
    flush()
    n = len(keys)
    sig = np.vstack(sigs) if sigs else np.zeros((0, cfg.minhash.num_perm), dtype=np.uint32)
    # a document without shingles has no bands (as in the Beam step: nothing to be similar to)
    signed = np.flatnonzero(np.fromiter((len(t) > 0 for t in texts), dtype=bool, count=n))
    bh = band_hashes(sig[signed], bands, rows).ravel()
    bdoc = np.repeat(signed.astype(np.uint32), bands)
    arrays = {name: np.array(values, dtype="S") if values else np.zeros(0, dtype="S1")
              for name, values in (("keys", keys), ("labels", labels))}
    for name, values in (("url", np.array(urls, dtype=np.uint64)),
                         ("exact", np.array(exact, dtype=np.uint64))):
        present = np.flatnonzero(values != NO_HASH)
        order = present[np.argsort(values[present], kind="stable")]
        arrays[name] = values[order]
        arrays[f"{name}_doc"] = order.astype(np.uint32)
    order = np.argsort(bh, kind="stable")
    arrays["bands"] = bh[order]
    arrays["band_doc"] = bdoc[order]
    arrays["sigs"] = sig
    arrays["text_off"] = np.concatenate(([0], np.cumsum([len(t) for t in texts],
                                                        dtype=np.int64))).astype(np.int64)
    meta = {"documents": n, "bands": bands, "rows": rows, "settings": _settings(cfg)}
    write_folder(folder, arrays, {"text.bin": texts,
                                  "meta.json": json.dumps(meta, sort_keys=True).encode()})
    return meta


def merge_parts(folders: Sequence[str], folder: str, cfg: DedupConfig) -> dict:
    """Write one part holding the documents of the parts in ``folders`` (same settings), in
    their order, to ``folder``: a lookup in it finds what a lookup in each of them finds, with
    one search per array instead of one per part. Nothing is signed or hashed again. Returns
    its ``meta.json``."""
    parts = [_Part(f) for f in folders]
    want = _settings(cfg)
    for f, part in zip(folders, parts):
        if part.meta["settings"] != want:
            raise ValueError(f"dedup index {f} was built with other dedup settings")
    sizes = [part.meta["documents"] for part in parts]
    starts = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    arrays: dict[str, np.ndarray] = {}
    for name in ("keys", "labels"):
        arrays[name] = (np.concatenate([np.asarray(p.arrays[name]) for p in parts]) if parts
                        else np.zeros(0, dtype="S1"))
    for name, doc in (("url", "url_doc"), ("exact", "exact_doc"), ("bands", "band_doc")):
        values = np.concatenate([np.asarray(p.arrays[name]) for p in parts]
                                ).astype(np.uint64)
        docs = np.concatenate([np.asarray(p.arrays[doc], dtype=np.int64) + start
                               for p, start in zip(parts, starts)])
        order = np.argsort(values, kind="stable")
        arrays[name], arrays[doc] = values[order], docs[order].astype(np.uint32)
    arrays["sigs"] = (np.vstack([p.all_signatures() for p in parts]) if parts
                      else np.zeros((0, cfg.minhash.num_perm), dtype=np.uint32))
    # the texts are copied in chunks, never all in memory at once
    byte_starts = np.concatenate(([0], np.cumsum([p.text_size for p in parts]))).astype(np.int64)
    arrays["text_off"] = np.concatenate(
        [np.asarray(p.arrays["text_off"], dtype=np.int64)[:-1] + b
         for p, b in zip(parts, byte_starts)] + [byte_starts[-1:]])
    bands, rows = cfg.lsh_shape()
    meta = {"documents": int(starts[-1]), "bands": bands, "rows": rows, "settings": want}
    write_folder(folder, arrays, {"text.bin": (c for p in parts for c in p.text_chunks()),
                                  "meta.json": json.dumps(meta, sort_keys=True).encode()})
    return meta


def _settings(cfg: DedupConfig) -> dict:
    """What must match between the parts and the batch that reads them."""
    m = cfg.minhash
    return {"num_perm": m.num_perm, "ngram": m.ngram, "seed": m.seed, "hash": m.hash,
            "shape": list(cfg.lsh_shape()), "threshold": cfg.threshold, "verify": cfg.verify,
            "url": cfg.url, "exact": cfg.exact, "near": cfg.near}


def part_bytes(folder: str) -> int:
    """Bytes on disk of one part."""
    fs, root = fsspec.core.url_to_fs(folder)
    return sum(fs.size(p) for p in fs.find(root))


# ---------------------------------------------------------------- reading

class _Part:
    """One part. The sorted hash arrays are memory-mapped where the filesystem allows; the
    signatures and texts, nearly all of a part's bytes, are read row by row with ``os.pread``,
    so their pages stay in the OS page cache and out of this process's resident memory (a
    memory map's touched pages count as the process's own, and a long run touches most of the
    index: with every array mapped, peak RSS grew with the documents indexed)."""

    def __init__(self, folder: str):
        self._text_fd = self._sig_fd = None
        fs, root = fsspec.core.url_to_fs(folder)
        self.local = _is_local(fs)
        with fs.open(f"{root}/meta.json") as f:
            self.meta = json.loads(f.read())
        self.arrays = {name: load_array(fs, f"{root}/{name}.npy") for name in ARRAYS
                       if name != "sigs" or not self.local}
        if self.local:
            sigs = np.load(f"{root}/sigs.npy", mmap_mode="r", allow_pickle=False)
            self._sig_shape, self._sig_dtype = sigs.shape, sigs.dtype
            self._sig_offset = sigs.offset if isinstance(sigs, np.memmap) else 0
            del sigs
            self._sig_fd = os.open(f"{root}/sigs.npy", os.O_RDONLY)
            self._text_fd = os.open(f"{root}/text.bin", os.O_RDONLY)
            self.text_size = os.fstat(self._text_fd).st_size
        else:
            with fs.open(f"{root}/text.bin") as f:
                self.text = f.read()
            self.text_size = len(self.text)

    def __del__(self):
        for fd in (self._text_fd, self._sig_fd):
            if fd is not None:
                os.close(fd)

    def signatures(self, docs: np.ndarray) -> np.ndarray:
        """(len(docs), num_perm) signatures of the part's documents ``docs``."""
        if not self.local:
            return np.asarray(self.arrays["sigs"])[docs]
        uniq, inverse = np.unique(docs, return_inverse=True)
        width = self._sig_shape[1] * self._sig_dtype.itemsize
        data = b"".join(os.pread(self._sig_fd, width, self._sig_offset + int(d) * width)
                        for d in uniq.tolist())
        rows = np.frombuffer(data, dtype=self._sig_dtype).reshape(len(uniq), self._sig_shape[1])
        return rows[inverse.reshape(-1)]

    def all_signatures(self) -> np.ndarray:
        return self.signatures(np.arange(self.meta["documents"])) if self.local else (
            np.asarray(self.arrays["sigs"]))

    def text_chunks(self, size: int = 1 << 24):
        """The part's ``text.bin``, in chunks of at most ``size`` bytes."""
        if not self.local:
            yield bytes(self.text)
            return
        for start in range(0, self.text_size, size):
            yield os.pread(self._text_fd, min(size, self.text_size - start), start)

    def key(self, doc: int) -> str:
        return bytes(self.arrays["keys"][doc]).decode("ascii")

    def label(self, doc: int) -> str:
        return bytes(self.arrays["labels"][doc]).decode("ascii")

    def normal(self, doc: int) -> str:
        off = self.arrays["text_off"]
        start, end = int(off[doc]), int(off[doc + 1])
        data = (os.pread(self._text_fd, end - start, start) if self.local
                else self.text[start:end])
        return data.decode("utf-8", "surrogatepass")

    def find(self, name: str, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query index, document) of every query value equal to one of the part's ``name``."""
        sorted_values = self.arrays[name]
        # needles in order walk the memory-mapped array once, front to back
        order = np.argsort(values, kind="stable")
        lo = np.empty(len(values), dtype=np.int64)
        hi = np.empty(len(values), dtype=np.int64)
        lo[order] = np.searchsorted(sorted_values, values[order], side="left")
        hi[order] = np.searchsorted(sorted_values, values[order], side="right")
        counts = hi - lo
        hit = np.flatnonzero(counts)
        if not len(hit):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        queries = np.repeat(hit, counts[hit])
        starts = np.repeat(lo[hit], counts[hit])
        within = np.arange(len(queries)) - np.repeat(np.cumsum(counts[hit]) - counts[hit],
                                                     counts[hit])
        docs = np.asarray(self.arrays[f"{'band' if name == 'bands' else name}_doc"]
                          )[starts + within]
        return queries, docs.astype(np.int64)


# Candidate pairs whose signatures are compared at once: two (pairs, num_perm) uint32 arrays of
# 512 bytes a row, so at most about 64 MB, however many indexed documents share a band with the
# queries (a hub of pages sharing a paragraph grows with the index).
PAIR_CHUNK = 1 << 16


def _estimates(pairs: np.ndarray, sigs: np.ndarray, part: _Part, floor: float):
    """(query, document, signature estimate) of the (query, document) ``pairs`` whose estimate
    reaches ``floor``, in the order of ``pairs``, ``PAIR_CHUNK`` pairs at a time."""
    for start in range(0, len(pairs), PAIR_CHUNK):
        chunk = pairs[start:start + PAIR_CHUNK]
        est = (sigs[chunk[:, 0]] == part.signatures(chunk[:, 1])).mean(axis=1)
        keep = np.flatnonzero(est >= floor)
        yield from zip(chunk[keep, 0].tolist(), chunk[keep, 1].tolist(), est[keep].tolist())


class EarlierIndex:
    """The parts of the earlier batches; ``check`` finds the documents of a new batch that
    repeat one of theirs."""

    def __init__(self, folders: Sequence[str], cfg: DedupConfig):
        self.cfg = cfg
        self.parts = [_Part(f) for f in folders]
        want = _settings(cfg)
        for folder, part in zip(folders, self.parts):
            if part.meta["settings"] != want:
                raise ValueError(f"dedup index {folder} was built with other dedup settings "
                                 f"({part.meta['settings']}, now {want}); rerun from the start")

    def check(self, docs: Sequence[tuple[str | None, str]]) -> list[Earlier | None]:
        """For each ``(url, text)``: the earlier document it repeats, or None."""
        cfg = self.cfg
        out: list[Earlier | None] = [None] * len(docs)
        if not self.parts or not docs:
            return out
        if cfg.url:
            self._group(out, np.array([url_hash(u) for u, _ in docs], dtype=np.uint64), "url",
                        "url_duplicate")
        normals = normalise_texts([t for _, t in docs]) if cfg.exact or cfg.near else []
        if cfg.exact:
            self._group(out, np.array([_exact_hash_of_normal(n) for n in normals],
                                      dtype=np.uint64), "exact", "exact_duplicate")
        if cfg.near:
            self._near(out, normals)
        return out

    def _group(self, out: list, values: np.ndarray, name: str, reason: str) -> None:
        best: dict[int, tuple[str, str]] = {}
        for part in self.parts:
            queries, found = part.find(name, values)
            for q, d in zip(queries.tolist(), found.tolist()):
                if out[q] is None and values[q] != NO_HASH:
                    k = part.key(d)
                    if q not in best or k < best[q][0]:
                        best[q] = (k, part.label(d))
        for q, (_, label) in best.items():
            out[q] = Earlier(reason, label)

    def _near(self, out: list, normals: Sequence[str]) -> None:
        cfg = self.cfg
        bands, rows = cfg.lsh_shape()
        todo = [i for i, r in enumerate(out) if r is None and normals[i]]
        if not todo:
            return
        sigs = minhasher(cfg.minhash).signatures([normals[i] for i in todo], normalised=True)
        shingles: dict[int, np.ndarray | None] = {}  # a query's packed n-grams, made once
        theirs: dict[tuple[int, int], tuple[str, np.ndarray | None]] = {}  # an indexed text's
        bh = band_hashes(sigs, bands, rows).ravel()
        floor = estimate_floor(cfg.threshold, cfg.verify)
        best: dict[int, tuple[str, str, float]] = {}
        for p, part in enumerate(self.parts):
            queries, found = part.find("bands", bh)
            if not len(queries):
                continue
            pairs = np.unique(np.stack([queries // bands, found], axis=1), axis=0)
            for q, d, e in _estimates(pairs, sigs, part, floor):
                i = todo[q]
                score = e
                if cfg.verify == "exact":
                    if i not in shingles:
                        shingles[i] = packed_shingles(normals[i], cfg.minhash.ngram)
                    # an indexed text is a candidate of several queries (pages share paragraphs)
                    if (p, d) not in theirs:
                        normal = part.normal(d)
                        theirs[(p, d)] = (normal, packed_shingles(normal, cfg.minhash.ngram))
                    normal, packed = theirs[(p, d)]
                    score = normal_jaccard(normals[i], normal, cfg.minhash.ngram,
                                           packed_a=shingles[i], packed_b=packed)
                    if score < cfg.threshold:
                        continue
                k = part.key(d)
                if i not in best or k < best[i][0]:
                    best[i] = (k, part.label(d), float(score))
        for i, (_, label, score) in best.items():
            out[i] = Earlier("near_duplicate", label, score)


__all__ = ["Earlier", "EarlierIndex", "band_hashes", "load_array", "merge_parts", "part_bytes",
           "save_array", "write_folder", "write_part"]
