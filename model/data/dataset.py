"""Pretraining batches streamed from the corpus shards, mixed, tasked, resumable.

``PretrainData`` is a torch ``IterableDataset`` that yields whole ``Batch``es (use it with
``batch_size=None``; ``make_loader`` does). Each reader -- one per rank and data-loader worker --
owns one ``RowStream`` per kind of shard (``text``, ``image_text``; ``model/data/shards.py``), so
readers never share a row. For each sample it draws, from a generator seeded by
``(seed, reader, sample number)``, which kind to read (``DataConfig.mix``) and which task to
apply (``TaskConfig``), tokenises the text, decodes the image, and builds the ``Example``
(``model/data/tasks.py``). An image that does not decode is skipped and counted, never fatal.

Resuming: every batch carries a ``BatchState``: which reader made it and that reader's
``ReaderPosition`` after it (the sample counter and each stream's ``StreamState``).
``DataState`` keeps the position of the last batch consumed from each reader plus the number of
batches (``to_dict`` / ``from_dict`` for the checkpoint's ``trainer.json``); a dataset built with
it continues exactly. The data loader takes batches from its workers in turn, starting with
worker 0, so on resume worker ``i`` plays reader ``(i + batches) mod workers``: the reader whose
turn was next comes first, and the batch sequence is the same as in an uninterrupted run. The
number of workers must then not change.

Validation (``split="val"``) reads the rows held out by id hash once, in file order, with fixed
seeds, so each evaluation sees the same batches.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from model.config import DataConfig, ImageConfig, TaskConfig
from model.data.batch import Batch, Example, collate
from model.data.image import ImageDecodeError, load_image
from model.data.shards import KINDS, RowStream, StreamState, find_shards, plan_pieces
from model.data.tasks import TaskMaker
from model.data.tokenizer import M6Tokenizer

log = logging.getLogger(__name__)

_COLUMNS = {"text": ["text", "title"], "image_text": ["text", "image"]}


class Position(Protocol):
    """A reader's resume position: JSON-ready both ways (``from_dict`` is a classmethod)."""

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ReaderPosition:
    """Where a pretraining reader is after a batch."""

    n: int = 0  # samples drawn so far (seeds the next sample's generator)
    skipped: int = 0  # samples skipped (image that did not decode, empty text)
    streams: dict[str, StreamState] = field(default_factory=dict)  # kind -> stream position

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "skipped": self.skipped,
                "streams": {k: s.to_dict() for k, s in self.streams.items()}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReaderPosition:
        return cls(int(d.get("n", 0)), int(d.get("skipped", 0)),
                   {k: StreamState.from_dict(s) for k, s in d.get("streams", {}).items()})


@dataclass(frozen=True)
class BatchState:
    """What a batch tells the trainer about where it came from (``Batch.state``)."""

    reader: int  # the reader's logical index among the data-loader workers
    num_workers: int
    position: Position  # the reader's position after this batch


@dataclass
class DataState:
    """The data position of a run: per reader, the position after its last consumed batch."""

    num_workers: int = 1
    batches: int = 0
    readers: dict[int, Position] = field(default_factory=dict)

    def update(self, batch: Batch) -> None:
        s = batch.state
        if s is None:
            return
        if s.num_workers != self.num_workers:
            raise ValueError("batch from a loader with a different number of workers")
        self.readers[s.reader] = s.position
        self.batches += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "num_workers": self.num_workers,
            "batches": self.batches,
            "readers": {str(k): v.to_dict() for k, v in self.readers.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], position: Any = ReaderPosition) -> DataState:
        """From ``to_dict``'s form; ``position`` is the class that reads each reader's
        position (``ReaderPosition`` for pretraining, an application's own otherwise)."""
        return cls(d["num_workers"], d["batches"],
                   {int(k): position.from_dict(v) for k, v in d["readers"].items()})


class PretrainData(IterableDataset):
    def __init__(
        self,
        data: DataConfig,
        tasks: TaskConfig,
        image: ImageConfig,
        tokenizer_path: str,
        *,
        split: str = "train",
        rank: int = 0,
        world_size: int = 1,
        seed: int = 0,
        state: DataState | None = None,
    ):
        super().__init__()
        self.data, self.tasks, self.image = data, tasks, image
        self.tokenizer_path = tokenizer_path
        self.split, self.rank, self.world_size, self.seed = split, rank, world_size, seed
        self.state = state
        self._warned: set[str] = set()
        self.pieces = {k: plan_pieces(find_shards(data.paths, k)) for k in KINDS}
        maker = TaskMaker(tasks, mask_id=0)
        wanted = {"text": maker.wants_text, "image_text": maker.wants_images}
        mix = {k: w for k, w in data.mix if w > 0 and wanted.get(k, False)}
        for k in list(mix):
            if not self.pieces.get(k):
                log.warning("no %s shards under %s: training without them", k, list(data.paths))
                del mix[k]
        if not mix:
            raise ValueError(
                f"no usable shards under {list(data.paths)} (looked for "
                f"{', '.join(k for k, _ in data.mix)}): build the corpus with 'make corpus' or "
                "point --data at a folder with text/ or image_text/ Parquet shards"
            )
        self.kinds = list(mix)
        total = sum(mix.values())
        self.mix_p = np.array([mix[k] / total for k in self.kinds])

    # ------------------------------------------------------------------ reading

    def _reader(self) -> tuple[int, int, int]:
        """(reader id, readers in total, workers) of the calling process."""
        info = get_worker_info()
        wid, nw = (0, 1) if info is None else (info.id, info.num_workers)
        if self.split == "val":
            return self.rank * nw + wid, self.world_size * nw, nw
        rotation = 0
        if self.state is not None:
            if self.state.num_workers != nw:
                raise ValueError(
                    f"the checkpoint's data state is for {self.state.num_workers} data-loader "
                    f"workers, this run has {nw}: resume with --workers {self.state.num_workers}"
                )
            rotation = self.state.batches % nw
        logical = (wid + rotation) % nw
        return self.rank * nw + logical, self.world_size * nw, nw

    def __iter__(self) -> Iterator[Batch]:
        reader, n_readers, nw = self._reader()
        logical = reader - self.rank * nw
        saved = ReaderPosition()
        if self.state is not None and self.split == "train":
            saved = self.state.readers.get(logical, saved)
        tok = M6Tokenizer.load(self.tokenizer_path)
        maker = TaskMaker(self.tasks, mask_id=tok.mask_id)
        val = self.split == "val"
        streams = {
            k: RowStream(
                self.pieces[k],
                columns=_COLUMNS[k],
                shard_id=reader,
                n_shards=n_readers,
                seed=self.seed,
                window=self.data.shuffle_window if k == "text" else max(1, self.data.shuffle_window // 4),
                split=self.split,
                val_fraction=self.data.val_fraction,
                loop=not val,
                shuffle=not val,
                read_batch_rows=self.data.read_batch_rows,
                state=saved.streams.get(k),
            )
            for k in self.kinds
        }
        iters = {k: iter(s) for k, s in streams.items()}
        live = list(self.kinds)
        n, skipped = saved.n, saved.skipped
        while live:
            examples: list[Example] = []
            while len(examples) < self.data.batch_size and live:
                rng = np.random.default_rng([self.seed, reader, n, 1 if val else 0])
                n += 1
                p = np.array([self.mix_p[self.kinds.index(k)] for k in live])
                kind = live[int(rng.choice(len(live), p=p / p.sum()))]
                try:
                    row = next(iters[kind])
                except StopIteration:
                    live.remove(kind)
                    continue
                ex = self._example(kind, row, tok, maker, rng)
                if ex is None:
                    skipped += 1
                    continue
                examples.append(ex)
            if not examples:
                return
            batch = collate(
                examples, pad_id=tok.pad_id, bos_id=tok.bos_id, eos_id=tok.eos_id,
                image_size=self.image.image_size,
            )
            batch.state = BatchState(
                reader=logical, num_workers=nw,
                position=ReaderPosition(n, skipped, {k: s.state() for k, s in streams.items()}),
            )
            yield batch

    def _example(
        self, kind: str, row: dict[str, Any], tok: M6Tokenizer, maker: TaskMaker,
        rng: np.random.Generator,
    ) -> Example | None:
        ids = tok.encode(row["text"] or "")
        if kind == "text":
            if self.data.use_title and row.get("title"):
                ids = tok.encode(row["title"]) + [tok.sep_id] + ids
            return maker.text_example(ids, rng) if ids else None
        if not ids:
            return None
        try:
            image = load_image(row["image"], self.image.image_size)
        except ImageDecodeError as e:
            if row.get("id") not in self._warned:  # once per row, not once per epoch
                self._warned.add(row.get("id"))
                log.warning("skipping image_text row %s: %s", row.get("id"), e)
            return None
        return maker.image_example(ids, image, rng)


def _identity(x: Any) -> Any:
    return x


def make_loader(dataset: PretrainData, num_workers: int = 0) -> DataLoader:
    """A DataLoader over already-batched ``PretrainData`` (in-order, so resume is exact).

    It gets a generator of its own: a DataLoader iterator otherwise draws its workers' base seed
    from the global torch RNG, and a resumed run (which creates its iterator at another point
    of the RNG stream) would then drop out different units than the uninterrupted run.
    """
    return DataLoader(
        dataset,
        batch_size=None,
        num_workers=num_workers,
        collate_fn=_identity,
        persistent_workers=False,
        prefetch_factor=2 if num_workers else None,
        in_order=True,
        generator=torch.Generator().manual_seed(dataset.seed),
    )
