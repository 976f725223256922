"""Streaming rows out of the corpus's Parquet shards: disjoint per shard, shuffled, resumable.

The unit of reading is a *piece*, one row group of one file, read in small record batches with
``ParquetFile.iter_batches`` so a shard is never loaded whole. For each epoch the pieces are put
in an order drawn from ``(seed, epoch)`` -- the same order in every process -- and split among the
``n_shards`` readers (one per rank and data-loader worker):

- piece mode, when there are at least as many pieces as readers: reader ``k`` takes pieces
  ``k, k + n, k + 2n, ...`` of that order;
- row mode, when there are fewer: reader ``k`` takes the rows whose position in the epoch's row
  sequence is ``k`` modulo ``n`` (every reader then reads every piece, but keeps only its rows).

Either way each row belongs to exactly one reader, so no row is seen twice in an epoch.

Rows are held out for validation by a hash of their ``id`` (``split="val"`` keeps those with
bucket below ``val_fraction``, ``split="train"`` the others), so the split is the same in every
run and for every sharding.

Shuffling is windowed: the reader fills a window of ``window`` rows in order, emits them in an
order drawn from ``(seed, shard, epoch, window)``, then fills the next. Its state is four integers
(epoch, window number, the cursor at the window's start, rows of the window already emitted), and
resuming re-reads that one window and continues exactly where it stopped -- unlike a reservoir
shuffle buffer, whose contents (image bytes included) would have to go into the checkpoint.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from schemas.arrow import SCHEMA_NAME_KEY
from schemas.image_column import with_image_bytes
from schemas.layout import OUTPUT_KINDS
from schemas.listing import corpus_folder, parquet_file

log = logging.getLogger(__name__)

KINDS = OUTPUT_KINDS  # the kinds a model trains on (schemas/layout.py)


def find_shards(paths: Sequence[str | Path], kind: str) -> list[str]:
    """Parquet files of output ``kind`` under ``paths`` (local paths or fsspec URLs).

    Each path may be a corpus folder or one of its kind sub-folders (the shards its
    ``manifest.json`` lists; an incomplete corpus is refused, ``schemas/listing.py``), a folder of
    Parquet files, a file, or a glob. Files whose schema metadata names another kind are
    skipped, so a corpus root's ``rejected/`` shards never leak into training.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown shard kind {kind!r}; expected one of {KINDS}")
    found: list[str] = []
    for raw in map(str, paths):
        fs, p = url_to_fs(raw)
        folder = corpus_folder(raw)
        if folder is not None:
            candidates = [url_to_fs(u)[1] for u in folder.shards(kind)]
        elif fs.isdir(p):
            candidates = sorted(fs.glob(p.rstrip("/") + "/*.parquet"))
        elif fs.isfile(p):
            candidates = [p]
        else:
            candidates = sorted(fs.glob(p))
        for c in candidates:
            c = c if isinstance(fs, LocalFileSystem) else fs.unstrip_protocol(c)
            schema = parquet_file(c).schema_arrow  # the footer only
            name = (schema.metadata or {}).get(SCHEMA_NAME_KEY)
            if name is not None and name.decode() != kind:
                continue
            if name is None and kind == "image_text" and "image" not in schema.names:
                continue
            if name is None and kind == "text" and "image" in schema.names:
                continue
            found.append(c)
    return sorted(dict.fromkeys(found))


@dataclass(frozen=True)
class Piece:
    """One row group of one Parquet file."""

    path: str
    row_group: int
    num_rows: int


def plan_pieces(files: Sequence[str]) -> list[Piece]:
    """Every non-empty row group of ``files``, from the footers only (no data is read)."""
    pieces = []
    for f in files:
        md = parquet_file(f).metadata
        for rg in range(md.num_row_groups):
            n = md.row_group(rg).num_rows
            if n:
                pieces.append(Piece(f, rg, n))
    return pieces


def val_bucket(row_id: str) -> float:
    """A number in [0, 1) fixed by the row id: rows with bucket < val_fraction are validation."""
    h = hashlib.blake2b(row_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2.0**64


@dataclass
class StreamState:
    """Where a ``RowStream`` is: resume from it and the same rows follow in the same order."""

    epoch: int = 0
    window: int = 0
    cursor: int = 0  # position, in this reader's epoch row sequence, of the window's first row
    index: int = 0  # rows of the window already emitted

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, int]) -> StreamState:
        """From ``to_dict``'s form (as stored in a checkpoint); missing fields are 0."""
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"stream state has unknown fields {sorted(unknown)}")
        return cls(**{k: int(v) for k, v in d.items()})


@dataclass(frozen=True)
class _Segment:
    piece: Piece
    start: int  # first row of the piece this reader takes
    stride: int
    count: int  # rows of the piece this reader takes


class RowStream:
    """The rows of reader ``shard_id`` of ``n_shards`` over ``pieces``, epoch after epoch."""

    def __init__(
        self,
        pieces: Sequence[Piece],
        *,
        columns: Sequence[str],
        shard_id: int = 0,
        n_shards: int = 1,
        seed: int = 0,
        window: int = 1024,
        split: str = "train",
        val_fraction: float = 0.0,
        loop: bool = True,
        shuffle: bool = True,
        read_batch_rows: int = 256,
        state: StreamState | None = None,
    ):
        if not 0 <= shard_id < n_shards:
            raise ValueError(f"shard_id {shard_id} is outside 0..{n_shards - 1}")
        if split not in ("train", "val", "all"):
            raise ValueError(f"split must be train, val or all, not {split!r}")
        self.pieces = list(pieces)
        self.columns = list(dict.fromkeys(["id", *columns]))
        self.shard_id, self.n_shards = shard_id, n_shards
        self.seed, self.window = seed, max(1, window)
        self.split, self.val_fraction = split, val_fraction
        self.loop, self.shuffle = loop, shuffle
        self.read_batch_rows = read_batch_rows
        self._state = replace(state) if state is not None else StreamState()
        self._files: dict[str, pq.ParquetFile] = {}

    def state(self) -> StreamState:
        """The position after the last row yielded (a copy, safe to store)."""
        return replace(self._state)

    # -------------------------------------------------------------- planning

    def _segments(self, epoch: int) -> list[_Segment]:
        n = len(self.pieces)
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(n)
        else:
            order = np.arange(n)
        ordered = [self.pieces[i] for i in order]
        if n >= self.n_shards:
            mine = ordered[self.shard_id :: self.n_shards]
            return [_Segment(p, 0, 1, p.num_rows) for p in mine]
        segs, offset = [], 0
        for p in ordered:
            first = (self.shard_id - offset) % self.n_shards
            if first < p.num_rows:
                count = (p.num_rows - first + self.n_shards - 1) // self.n_shards
                segs.append(_Segment(p, first, self.n_shards, count))
            offset += p.num_rows
        return segs

    def _keep(self, row_id: str) -> bool:
        if self.split == "all":
            return True
        is_val = val_bucket(row_id) < self.val_fraction
        return is_val if self.split == "val" else not is_val

    def _file(self, path: str) -> pq.ParquetFile:
        f = self._files.get(path)
        if f is None:
            f = self._files[path] = parquet_file(path)
        return f

    # -------------------------------------------------------------- reading

    def _candidates(self, segs: list[_Segment], cursor: int) -> Iterator[dict[str, Any] | None]:
        """This reader's rows from ``cursor`` on, ``None`` for a row the split leaves out."""
        for seg in segs:
            if cursor >= seg.count:
                cursor -= seg.count
                continue
            first_raw = seg.start + cursor * seg.stride
            cursor = 0
            pf = self._file(seg.piece.path)
            raw0 = 0
            for batch in pf.iter_batches(
                batch_size=self.read_batch_rows,
                row_groups=[seg.piece.row_group],
                columns=self.columns,
                use_threads=False,
            ):
                batch = with_image_bytes(batch)  # image_text 1.0 binary or 2.0 struct
                raw_end = raw0 + batch.num_rows
                if raw_end > first_raw:
                    lo = max(first_raw, raw0)
                    lo += (seg.start - lo) % seg.stride  # first row of ours at or after lo
                    idx = np.arange(lo, raw_end, seg.stride) - raw0
                    if len(idx):
                        ids = batch.column("id").take(idx).to_pylist()
                        keep = [self._keep(i) for i in ids]
                        rows = batch.take(idx).to_pylist() if any(keep) else None
                        for j, k in enumerate(keep):
                            yield rows[j] if k else None
                raw0 = raw_end

    def _fill(self, segs: list[_Segment], cursor: int) -> tuple[list[dict[str, Any]], int]:
        rows: list[dict[str, Any]] = []
        for row in self._candidates(segs, cursor):
            cursor += 1
            if row is not None:
                rows.append(row)
                if len(rows) == self.window:
                    break
        return rows, cursor

    def __iter__(self) -> Iterator[dict[str, Any]]:
        st = self._state
        while True:
            segs = self._segments(st.epoch)
            total = sum(s.count for s in segs)
            # a stream resumed at the very end of an epoch's only window yields nothing more
            # from it, which is not a reader without rows
            from_start = st.cursor == 0 and st.window == 0 and st.index == 0
            yielded = 0
            while st.cursor < total:
                rows, end = self._fill(segs, st.cursor)
                if self.shuffle:
                    rng = np.random.default_rng([self.seed, self.shard_id, st.epoch, st.window])
                    order = rng.permutation(len(rows))
                else:
                    order = np.arange(len(rows))
                for j in range(st.index, len(rows)):
                    st.index = j + 1
                    yielded += 1
                    yield rows[order[j]]
                st.window, st.cursor, st.index = st.window + 1, end, 0
            if not self.loop:
                return
            if from_start and yielded == 0:
                raise ValueError(
                    f"reader {self.shard_id} of {self.n_shards} got no {self.split} rows from "
                    f"{len(self.pieces)} row groups: give it more data, or use fewer ranks or "
                    "data-loader workers"
                )
            st.epoch, st.window, st.cursor, st.index = st.epoch + 1, 0, 0, 0
            log.debug("reader %d/%d starts epoch %d", self.shard_id, self.n_shards, st.epoch)
