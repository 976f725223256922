"""Typed configuration of the model, its data, its tasks and its training run.

One frozen, keyword-only dataclass per component, nested in ``RunConfig``; presets
(``model/presets.py``) build them with ``dataclasses.replace``. The resolved config is written as
JSON next to every output (``to_dict`` / ``from_dict`` round-trip), so a checkpoint says what built
it. No untyped dict configs and no environment-variable switches (STYLE.md, "Config and CLI").
The JSON mechanism itself (types, ``--set part.field=value`` overrides) is ``schemas/config.py``,
shared with the corpus.

Versions: a run's ``config.json`` and the ``config`` in each checkpoint's ``trainer.json`` carry
``"version": CONFIG_VERSION``. Files written before the field existed (version 1, the same
shape otherwise) still load, so old checkpoints resume and load in ``m6 generate``. A key or
flag that moves keeps working for one version with a deprecation message (none has moved yet).

The MoE slot: ``ModelConfig.moe`` is ``None`` for a dense model. When it is a ``MoEConfig``
(``model/moe_config.py``), the layers for which ``MoEConfig.is_moe_layer(i)`` holds get the
feed-forward network built by ``model.nn.moe.build_moe_ffn`` instead of the dense one
(``model/nn/ffn.py``), and its auxiliary (load-balancing) loss is added to the training loss
(paper section 3.4).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.moe_config import MoEConfig
from schemas.config import from_dict, load_json, save_json, to_dict
from schemas.version import VERSION_KEY, m6_version

CONFIG_VERSION = 2
"""Version of the run config as written to ``config.json`` and ``trainer.json``: 1 had no
``version`` key, 2 adds it."""

TASKS = ("text_denoise", "lm", "image_to_text", "mm_to_text")
"""The four pretraining tasks of the paper's Figure 3, in task-id order."""

TEXT_TASKS = ("text_denoise", "lm")
IMAGE_TASKS = ("image_to_text", "mm_to_text")

SEGMENT_IMAGE, SEGMENT_MASKED, SEGMENT_TARGET = 0, 1, 2
"""Segment ids of the three parts of the sequence: [image patches][masked text][target text]."""


@dataclass(frozen=True, kw_only=True)
class ImageConfig:
    """How an image becomes a sequence of patch features (paper section 3.1).

    The image is resized to ``image_size`` squared and cut into ``(image_size // patch_size)**2``
    patches; each patch goes through ``encoder`` (``cnn``: a small trainable CNN; ``resnet50``: a
    torchvision ResNet-50 loaded from ``resnet_weights``, a local file) and is projected to the
    model width. Row and column embeddings give each patch its 2-D position.
    """

    image_size: int = 224
    patch_size: int = 32
    encoder: str = "cnn"  # cnn | resnet50
    cnn_channels: tuple[int, ...] = (32, 64, 128)
    resnet_weights: str | None = None
    freeze_backbone: bool = True  # resnet50 only: the paper uses a trained, fixed extractor

    @property
    def grid(self) -> int:
        return self.image_size // self.patch_size

    @property
    def n_patches(self) -> int:
        return self.grid * self.grid

    def __post_init__(self) -> None:
        if self.image_size % self.patch_size:
            raise ValueError(
                f"image_size {self.image_size} is not a multiple of patch_size {self.patch_size}"
            )
        if self.encoder not in ("cnn", "resnet50"):
            raise ValueError(f"unknown image encoder {self.encoder!r}; expected cnn or resnet50")


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """The unified encoder-decoder transformer (paper section 3.2, Table 4)."""

    vocab_size: int = 21128  # Chinese BERT's vocabulary size; replaced by the tokenizer's at train time
    d_model: int = 1024
    n_layers: int = 24
    n_heads: int = 16
    d_ff: int = 4096
    max_text_len: int = 512  # positions of each text segment (masked and target)
    dropout: float = 0.0
    layer_norm_eps: float = 1e-5
    init_std: float = 0.02
    image: ImageConfig = field(default_factory=ImageConfig)
    moe: MoEConfig | None = None

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    """Where the shards are and how they are streamed (``model/data/shards.py``, ``model/data/dataset.py``).

    ``mix`` gives the share of samples drawn from each kind of shard; a kind with no shards is
    dropped from the mix (with a warning). ``val_fraction`` of the rows, chosen by a hash of the
    row ``id``, is held out for validation and never trained on.
    """

    paths: tuple[str, ...] = ("out/corpus",)
    mix: tuple[tuple[str, float], ...] = (("text", 0.7), ("image_text", 0.3))
    shuffle_window: int = 1024  # rows per shuffle window (text); image rows use a quarter
    val_fraction: float = 0.02
    batch_size: int = 16
    num_workers: int = 0
    use_title: bool = True
    read_batch_rows: int = 256


@dataclass(frozen=True, kw_only=True)
class TaskConfig:
    """The four pretraining tasks and their weights (paper section 3.3, Figure 3).

    A text sample becomes ``text_denoise`` or ``lm`` in proportion to their weights; an image-text
    sample becomes ``image_to_text`` or ``mm_to_text`` likewise. A weight of 0 turns a task off.
    """

    weights: tuple[tuple[str, float], ...] = (
        ("text_denoise", 1.0),
        ("lm", 1.0),
        ("image_to_text", 1.0),
        ("mm_to_text", 1.0),
    )
    mask_ratio: float = 0.15  # share of tokens masked in denoising (BERT's 15%)
    mean_span: float = 3.0  # mean length of a masked span; each span becomes one [MASK]
    max_text_tokens: int = 128  # text tokens per sample (a window of longer texts)

    def weight(self, task: str) -> float:
        return dict(self.weights).get(task, 0.0)


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """The optimisation and bookkeeping of a run (``model/train/trainer.py``)."""

    steps: int = 1000
    lr: float = 3e-4
    min_lr_ratio: float = 0.1
    warmup_steps: int = 100
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    grad_accum: int = 1
    bf16: bool = False
    activation_checkpointing: bool = False
    seed: int = 1234
    log_every: int = 10
    val_every: int = 100
    val_batches: int = 8
    ckpt_every: int = 200
    keep_checkpoints: int = 2
    # torch CPU threads (0: torch's default). On a small, shared machine one thread is faster
    # than two fighting other processes for cores (measured: 0.4 s vs 3.7 s a tiny step).
    threads: int = 0
    # Under torchrun with several processes: shard parameters, gradients and AdamW state over
    # the ranks with FSDP (model/distributed/parallel.py) instead of replicating them. For large dense presets.
    fsdp: bool = False


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Everything a pretraining run needs; presets return one of these."""

    name: str = "custom"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    tasks: TaskConfig = field(default_factory=TaskConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    tokenizer_vocab_size: int = 21128  # vocabulary size when the run trains its own tokenizer



def run_config_to_dict(cfg: RunConfig) -> dict[str, Any]:
    """``cfg`` as written to ``config.json``: its fields after ``version``."""
    return {"version": CONFIG_VERSION, VERSION_KEY: m6_version(), **to_dict(cfg)}


def run_config_from_dict(data: dict[str, Any]) -> RunConfig:
    """A ``RunConfig`` from ``run_config_to_dict`` output of this or an older version (no
    ``version`` key: version 1); a part of one keeps the defaults for the rest."""
    if not isinstance(data, dict):
        raise ValueError(f"a run config is a JSON object, not {type(data).__name__}")
    data = dict(data)
    version = data.pop("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"run config version must be a positive integer, got {version!r}")
    if version > CONFIG_VERSION:
        raise ValueError(f"run config version {version} is newer than this m6 reads "
                         f"({CONFIG_VERSION}): upgrade m6")
    return from_dict(RunConfig, data)


def save_run_config(cfg: RunConfig, path: str | Path) -> None:
    """Write ``cfg`` as a versioned ``config.json`` (whole, so the file rebuilds the run),
    atomically: a reader never sees half a file."""
    path = Path(path)
    text = json.dumps(run_config_to_dict(cfg), indent=2, ensure_ascii=False) + "\n"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def load_run_config(path: str | Path) -> RunConfig:
    """Read a ``config.json`` written by ``save_run_config`` (any version up to this one)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    try:
        return run_config_from_dict(data)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


__all__ = ["CONFIG_VERSION", "RunConfig", "from_dict", "load_json", "load_run_config",
           "run_config_from_dict", "run_config_to_dict", "save_json", "save_run_config", "to_dict"]
