"""Fine-tuning a pretrained M6 for an application: the ``App`` contract, its batches, its
trainer and its checkpoints (paper section 4: each application starts from the pretrained model).

An ``App`` (one per application module: caption, vqa, match, imagine) says

- which model it trains (``build_model``; the plain M6 for captioning and VQA, M6 plus a
  binary head for matching, M6 with code embeddings for text-to-image) and how the pretrained
  weights go into it (``init_from``);
- how a dataset row becomes a training item (``prepare``; ``None`` drops the row, e.g. a
  description outside the paper's length rule or an image that does not decode) and how items
  become a ``Batch`` (``collate``: matching makes its negatives here);
- its loss (``loss``).

``AppBatches`` streams a split of a ``RowSource`` (``model/apps/rows.py``) through them, and
every batch carries its data position in the pretraining loader's format, so the trainer's
resume machinery (``DataState``) works unchanged. ``AppTrainer`` is the pretraining
``Trainer`` (AdamW, warm-up + cosine, clipping, bf16, accumulation, validation, metrics,
atomic checkpoints, exact resume) with the model, data and loss of the app swapped in; its
checkpoints are ordinary M6 checkpoints whose ``trainer.json`` also holds ``"app"`` (the app's
name and options), so ``load_app`` rebuilds the right model for inference and evaluation.
Checkpoints of the plain-M6 apps (caption, vqa) also load with ``model.infer.pretrained``, so
``m6 caption`` and ``m6 generate`` take them as they are.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from model.config import ModelConfig, RunConfig, from_dict, run_config_from_dict
from model.data.batch import Batch
from model.data.dataset import BatchState
from model.data.shards import StreamState
from model.data.tokenizer import M6Tokenizer
from model.train.checkpoint import load_weights, resolve_checkpoint, tokenizer_file, trainer_meta
from model.train.loss import LossOutput
from model.train.optim import build_optimizer
from model.train.trainer import Trainer

log = logging.getLogger(__name__)

APPS = {
    "caption": "model.apps.caption:CaptionApp",
    "vqa": "model.apps.vqa:VQAApp",
    "match": "model.apps.match:MatchApp",
    "imagine": "model.apps.imagine:ImagineApp",
}
"""Application name -> ``module:class`` of its ``App`` (imported when used)."""


@dataclass(frozen=True, kw_only=True)
class App:
    """Base of the applications' configs; subclasses add their options as fields."""

    name: str = "app"
    max_text_tokens: int = 64  # text tokens kept per sample (a longer text is cut)

    # ------------------------------------------------------------------ model
    def build_model(self, cfg: ModelConfig) -> nn.Module:
        from model.nn.transformer import M6Model

        return M6Model(cfg)

    def model_config(self, pretrained: ModelConfig) -> ModelConfig:
        """The fine-tuned model's config given the pretrained one (same by default)."""
        return pretrained

    def init_from(self, model: nn.Module, pretrained: nn.Module) -> None:
        """Copy the pretrained weights into ``model``."""
        model.load_state_dict(pretrained.state_dict())

    def m6(self, model: nn.Module) -> nn.Module:
        """The M6 stack inside ``model``."""
        return model

    # ------------------------------------------------------------------ data
    def prepare(self, row: dict[str, Any], tok: M6Tokenizer, image_size: int) -> Any | None:
        raise NotImplementedError

    def collate(self, items: list[Any], tok: M6Tokenizer, image_size: int,
                rng: np.random.Generator) -> Batch:
        raise NotImplementedError

    # ------------------------------------------------------------------ loss
    def loss(self, model: nn.Module, batch: Batch) -> tuple[LossOutput, torch.Tensor]:
        from model.train.loss import task_loss

        out = model(batch)
        return task_loss(out.logits_BTV, batch.labels_BT, batch.task_B), out.aux_loss

    def resolve(self, ckpt: Path) -> App:
        """This app with any path it holds resolved against checkpoint ``ckpt``."""
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def app_class(name: str) -> type[App]:
    if name not in APPS:
        raise ValueError(f"unknown application {name!r}; choose one of {', '.join(APPS)}")
    module, cls = APPS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def app_from_dict(d: dict[str, Any]) -> App:
    return from_dict(app_class(d["name"]), d)


# ---------------------------------------------------------------------- batches


@dataclass(frozen=True)
class AppPosition:
    """Where an application's batches are after a batch (one reader, no workers)."""

    n: int = 0  # batches made (seeds the next batch's generator)
    dropped: int = 0  # rows the application could not use
    stream: StreamState | None = None  # the row stream's position

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "dropped": self.dropped,
                "stream": None if self.stream is None else self.stream.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AppPosition:
        stream = d.get("stream")
        return cls(int(d.get("n", 0)), int(d.get("dropped", 0)),
                   None if stream is None else StreamState.from_dict(stream))


class AppBatches:
    """Batches of one split of ``source`` for ``app``, with a resumable position."""

    def __init__(self, app: App, source, tok: M6Tokenizer, *, image_size: int, batch_size: int,
                 split: str, val_fraction: float, seed: int, loop: bool,
                 state: AppPosition | None = None):
        self.app, self.source, self.tok = app, source, tok
        self.image_size, self.batch_size = image_size, batch_size
        self.split, self.val_fraction, self.seed, self.loop = split, val_fraction, seed, loop
        self.state = state or AppPosition()
        self.dropped = self.state.dropped

    def __iter__(self) -> Iterator[Batch]:
        stream = self.source.stream(
            self.split, val_fraction=self.val_fraction, seed=self.seed, loop=self.loop,
            shuffle=self.loop, state=self.state.stream,
        )
        n = self.state.n
        items: list[Any] = []
        for row in stream:
            item = self.app.prepare(row, self.tok, self.image_size)
            if item is None:
                self.dropped += 1
                continue
            items.append(item)
            if len(items) == self.batch_size:
                yield self._batch(items, n, stream)
                n += 1
                items = []
        if items:
            yield self._batch(items, n, stream)

    def _batch(self, items: list[Any], n: int, stream) -> Batch:
        rng = np.random.default_rng([self.seed, n, 0 if self.split == "train" else 1])
        batch = self.app.collate(items, self.tok, self.image_size, rng)
        batch.state = BatchState(reader=0, num_workers=1,
                                 position=AppPosition(n + 1, self.dropped, stream.state()))
        return batch


# ---------------------------------------------------------------------- training


class AppTrainer(Trainer):
    """The pretraining ``Trainer`` with an application's model, data and loss."""

    position_type = AppPosition

    def __init__(self, cfg: RunConfig, out_dir: str | Path, tokenizer_path: str | Path, *,
                 app: App, source, val_fraction: float, pretrained: nn.Module | None = None,
                 device: str | torch.device = "cpu", progress: bool = True,
                 tensorboard: bool = True):
        self.app, self.source, self.val_fraction = app, source, val_fraction
        super().__init__(cfg, out_dir, tokenizer_path, device=device, progress=progress,
                         tensorboard=tensorboard)
        self.model = app.build_model(cfg.model)
        if pretrained is not None:
            app.init_from(self.model, pretrained)
        self.model.to(self.device)
        app.m6(self.model).activation_checkpointing = cfg.train.activation_checkpointing
        self.optimizer, self.scheduler = build_optimizer(self.model, cfg.train)
        self.tok = M6Tokenizer.load(tokenizer_path)

    def _batches(self, split: str, state: AppPosition | None) -> AppBatches:
        return AppBatches(
            self.app, self.source, self.tok, image_size=self.cfg.model.image.image_size,
            batch_size=self.cfg.data.batch_size, split=split, val_fraction=self.val_fraction,
            seed=self.cfg.train.seed, loop=split == "train", state=state,
        )

    def train_batches(self) -> Iterator[Batch]:
        state = self.data_state.readers.get(0) if self.data_state.batches else None
        return iter(self._batches("train", state))

    def val_batches(self) -> Iterator[Batch]:
        return iter(self._batches("val", None))

    def _forward(self, batch: Batch):
        with self.autocast():
            return self.app.loss(self.model, batch)

    def trainer_state(self) -> dict:
        """``Trainer``'s checkpoint record, plus the app and its held-out fraction."""
        return {**super().trainer_state(), "app": self.app.to_dict(),
                "val_fraction": self.val_fraction}


# ---------------------------------------------------------------------- loading


@dataclass
class LoadedApp:
    app: App
    model: nn.Module
    tokenizer: M6Tokenizer
    config: RunConfig
    path: Path
    val_fraction: float


def load_app(path: str | Path, device: str | torch.device = "cpu",
             expect: str | None = None) -> LoadedApp:
    """A fine-tuned application checkpoint (a checkpoint or run folder), ready for inference.

    A plain pretrained checkpoint (no ``"app"`` in ``trainer.json``) loads as ``expect`` with
    default options when that app uses the plain M6 (caption, vqa)."""
    ckpt = resolve_checkpoint(path)
    meta = trainer_meta(ckpt)
    cfg = run_config_from_dict(meta["config"])
    if "app" in meta:
        app = app_from_dict(meta["app"]).resolve(ckpt)
        if expect is not None and app.name != expect:
            raise ValueError(f"{ckpt} is a fine-tuned {app.name!r} checkpoint, not {expect!r}: "
                             f"fine-tune one with 'm6 finetune {expect}'")
    elif expect in ("caption", "vqa"):
        app = app_class(expect)()
    else:
        raise ValueError(
            f"{ckpt} is a pretraining checkpoint; {expect or 'this application'} needs a "
            f"fine-tuned one: 'm6 finetune {expect or '<app>'} --checkpoint {path} ...'"
        )
    tok = M6Tokenizer.load(tokenizer_file(ckpt))
    model = app.build_model(cfg.model)
    load_weights(model, ckpt, device)
    model.to(device).eval()
    val_fraction = float(meta.get("val_fraction", cfg.data.val_fraction))
    return LoadedApp(app, model, tok, cfg, ckpt, val_fraction)


def use_threads(cfg: RunConfig, override: int | None = None) -> None:
    """Set torch's CPU threads to ``override`` or the run's ``train.threads`` (when not 0): on
    a small shared machine one thread decodes several times faster than two contending."""
    n = override if override is not None else cfg.train.threads
    if n:
        torch.set_num_threads(n)
