"""The rows of a fine-tuning or evaluation dataset: image_text Parquet shards or JSONL files.

Every application reads its data through ``open_rows(paths)``:

- Parquet: the corpus's ``image_text`` shards (a corpus root, a shard folder, files or globs;
  ``model.data.shards.find_shards``), streamed a row group at a time by ``model.data.shards.RowStream``,
  so a large set is never loaded whole. Rows have ``id``, ``text`` and ``image`` (the bytes).
- JSONL (any path ending in ``.jsonl``): one object a line, e.g.
  ``{"image": "img/1.jpg", "question": "这是什么颜色", "answer": "红色"}`` for visual question
  answering or ``{"image": "img/1.jpg", "text": "..."}`` for the other applications. ``image``
  is a path relative to the JSONL file; ``id`` is optional (default ``<file>:<line>``); a
  ``split`` field (``train``, ``val``/``test``) overrides the hash split. A line that is not a
  JSON object, or whose image file is missing, is skipped with a warning: one bad line never
  stops a run.

Held-out rows are chosen by image: an image is held out when the id hash of any of its rows
(``model.data.shards.val_bucket(id) < val_fraction``, the rule pretraining applies to rows) says so,
and then all its rows are. So no image is on both sides (a caption model is never scored on an
image it was fine-tuned on), and with the pretraining run's fraction -- the default of
``m6 finetune`` and ``m6 eval`` -- every row pretraining held out is held out here too. An image
with k rows is held out with probability 1 - (1 - val_fraction)^k. Finding the held-out images
reads only the ``id`` and ``sha256`` columns.

``image_key`` groups rows that show the same image (the ``sha256`` column, or the resolved file
path): captioning evaluates each image once against all its descriptions, and matching never
takes a "negative" text from a row with the same image.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from model.data.shards import RowStream, StreamState, find_shards, plan_pieces, val_bucket

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "all")
_VAL_NAMES = {"val", "valid", "validation", "test", "heldout", "held_out"}


class ListStream:
    """A ``RowStream`` look-alike over rows held in memory (JSONL): the same ``state()`` /
    resume contract (a ``StreamState`` of which only ``epoch`` and ``index`` are used, there
    being no windows), a shuffled order per epoch drawn from ``(seed, epoch)``."""

    def __init__(self, rows: Sequence[dict[str, Any]], *, seed: int = 0, loop: bool = True,
                 shuffle: bool = True, state: StreamState | None = None):
        self.rows = list(rows)
        self.seed, self.loop, self.shuffle = seed, loop, shuffle
        self._epoch = state.epoch if state is not None else 0
        self._index = state.index if state is not None else 0

    def state(self) -> StreamState:
        return StreamState(epoch=self._epoch, index=self._index)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if not self.rows:
            return
        while True:
            n = len(self.rows)
            if self.shuffle:
                order = np.random.default_rng([self.seed, self._epoch]).permutation(n)
            else:
                order = np.arange(n)
            while self._index < n:
                row = self.rows[int(order[self._index])]
                self._index += 1
                yield _load_image_bytes(row)
            if not self.loop:
                return
            self._epoch, self._index = self._epoch + 1, 0


def _load_image_bytes(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    path = row.get("image_path")
    if path is not None:
        try:
            out["image"] = Path(path).read_bytes()
        except OSError as e:
            log.warning("row %s: cannot read image %s (%s)", row.get("id"), path, e)
            out["image"] = None
    return out


def _is_val(row_id: str, split_field: Any, val_fraction: float) -> bool:
    if isinstance(split_field, str) and split_field:
        return split_field.lower() in _VAL_NAMES
    return val_bucket(row_id) < val_fraction


class _ImageSplitStream(RowStream):
    """``RowStream`` whose held-out rows are a given id set (the rows of held-out images)."""

    def __init__(self, *args, val_ids: frozenset[str], **kw):
        super().__init__(*args, **kw)
        self.val_ids = val_ids

    def _keep(self, row_id: str) -> bool:
        if self.split == "all":
            return True
        return (row_id in self.val_ids) == (self.split == "val")


class RowSource:
    """A dataset's rows, by split. Build it with ``open_rows``."""

    def __init__(self, *, parquet: Sequence[str] = (), jsonl_rows: Sequence[dict[str, Any]] = (),
                 description: str = ""):
        self.parquet = list(parquet)
        self.jsonl_rows = list(jsonl_rows)
        self.description = description
        if self.parquet and self.jsonl_rows:
            raise ValueError("mix of Parquet and JSONL data: give one kind per run")
        self._val_ids: dict[float, frozenset[str]] = {}

    def val_ids(self, val_fraction: float) -> frozenset[str]:
        """Ids of the held-out rows: every row of an image any of whose rows hashes under
        ``val_fraction`` (a JSONL ``split`` field decides for its own row)."""
        if val_fraction in self._val_ids:
            return self._val_ids[val_fraction]
        if self.parquet:
            import pyarrow.parquet as pq

            pairs = []
            for f in self.parquet:
                t = pq.read_table(f, columns=["id", "sha256"])
                pairs += zip(t.column("id").to_pylist(), t.column("sha256").to_pylist())
            keyed = [(i, k or i, None) for i, k in pairs]
        else:
            keyed = [(r["id"], image_key(r), r.get("split")) for r in self.jsonl_rows]
        held = {k for i, k, sp in keyed if sp is None and val_bucket(i) < val_fraction}
        ids = frozenset(i for i, k, sp in keyed
                        if (_is_val(i, sp, val_fraction) if sp is not None else k in held))
        self._val_ids[val_fraction] = ids
        return ids

    @property
    def kind(self) -> str:
        return "parquet" if self.parquet else "jsonl"

    def stream(self, split: str, *, val_fraction: float, seed: int = 0, loop: bool = False,
               shuffle: bool = False, state: StreamState | None = None):
        """An iterable of row dicts of ``split`` (``train``, ``val`` or ``all``) with a
        ``state()`` method; ``loop`` repeats epochs (training), ``shuffle`` reorders them."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
        val_ids = self.val_ids(val_fraction) if split != "all" else frozenset()
        if self.parquet:
            return _ImageSplitStream(
                plan_pieces(self.parquet), columns=["text", "image", "sha256"], seed=seed,
                window=256, split=split, val_fraction=val_fraction, loop=loop, shuffle=shuffle,
                read_batch_rows=64, state=state, val_ids=val_ids,
            )
        rows = [r for r in self.jsonl_rows
                if split == "all" or (r["id"] in val_ids) == (split == "val")]
        return ListStream(rows, seed=seed, loop=loop, shuffle=shuffle, state=state)

    def rows(self, split: str, *, val_fraction: float, limit: int | None = None) -> list[dict[str, Any]]:
        """The rows of ``split`` in file order (evaluation), at most ``limit`` of them."""
        out = []
        for row in self.stream(split, val_fraction=val_fraction):
            out.append(row)
            if limit is not None and len(out) >= limit:
                break
        return out


def image_key(row: dict[str, Any]) -> str:
    """What identifies the image of ``row`` (its sha256, its file, or the row id)."""
    return row.get("sha256") or row.get("image_path") or row["id"]


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The usable rows of one JSONL file; bad lines are logged and skipped."""
    path = Path(path)
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            log.warning("%s:%d: not JSON (%s): skipped", path, lineno, e)
            continue
        if not isinstance(obj, dict):
            log.warning("%s:%d: not a JSON object: skipped", path, lineno)
            continue
        row = dict(obj)
        row["id"] = str(obj.get("id") or f"{path.name}:{lineno}")
        image = obj.get("image")
        row.pop("image", None)
        if image is not None:
            if not isinstance(image, str):
                log.warning("%s:%d: image must be a path string: skipped", path, lineno)
                continue
            p = Path(image)
            p = p if p.is_absolute() else path.parent / p
            if not p.is_file():
                log.warning("%s:%d: image file %s not found: skipped", path, lineno, p)
                continue
            row["image_path"] = str(p.resolve())
        rows.append(row)
    return rows


def open_rows(paths: Sequence[str | Path]) -> RowSource:
    """The rows under ``paths``: JSONL files, or anything ``find_shards`` resolves to
    ``image_text`` Parquet shards."""
    paths = [str(p) for p in paths]
    jsonl = [p for p in paths if p.endswith(".jsonl")]
    rest = [p for p in paths if not p.endswith(".jsonl")]
    if jsonl and rest:
        raise ValueError(f"mix of JSONL {jsonl} and Parquet {rest}: give one kind per run")
    if jsonl:
        rows = []
        for p in jsonl:
            if not Path(p).is_file():
                raise FileNotFoundError(f"no JSONL file at {p}")
            rows += read_jsonl(p)
        if not rows:
            raise ValueError(f"no usable rows in {jsonl}")
        return RowSource(jsonl_rows=rows, description=", ".join(jsonl))
    files = find_shards(rest, "image_text")
    if not files:
        raise FileNotFoundError(
            f"no image_text Parquet shards under {rest}: build the corpus with 'make corpus' "
            "(out/corpus), or pass a .jsonl file"
        )
    return RowSource(parquet=files, description=f"{len(files)} image_text shards")
