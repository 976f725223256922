"""Checkpoints of MoE models that load under any expert-parallel layout, and refuse loudly to
load when an expert weight is missing or unexpected.

In memory an MoE layer stores its experts stacked (``...experts.w1`` of shape (L, D, F), L the
experts this rank holds). On disk every expert is its own tensor under its *global* index:
``...experts.<g>.w1``, ``.b1``, ``.w2``, ``.b2``. That canonical form does not depend on how
many ranks wrote it, so a model trained with expert parallelism over 2 ranks loads in 1
process and the reverse: a loader takes exactly the global experts its rank holds.

``save_sharded`` writes rank 0's part to ``model.safetensors`` (every non-expert tensor, they
are replicated, plus rank 0's experts; its metadata records the number of ranks R) and rank r's
experts to ``model-experts-<r>-of-<R>.safetensors``. One process writes ``model.safetensors``
alone, so a single-process checkpoint is one ordinary safetensors file. Files are written under
a temporary name and renamed, so a crash never leaves a half file under the real name.
``load_sharded`` opens the files of a directory lazily (safetensors reads only the tensors asked
for, so a rank never reads the other ranks' experts) and fails, naming the keys, when:

- an expert file of the set is missing (``model.safetensors`` says how many there must be),
- an expert this rank needs is absent from every file (missing),
- a file holds an expert index >= the layer's number of experts, an expert tensor of a layer
  that is not MoE, or an unknown expert tensor name (unexpected),
- a key appears in two files, or any non-expert key is missing/unexpected (strict load).

Silent expert loss in conversion scripts is a known failure of other MoE stacks; here it is an
error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from model.nn.moe import moe_layers

EXPERT_TENSORS = ("w1", "b1", "w2", "b2")
_EXPERT_KEY = re.compile(r"^(?P<prefix>(?:.*\.)?experts\.)(?P<index>\d+)\.(?P<name>[^.]+)$")
MAIN_FILE = "model.safetensors"
_SHARD_NAME = re.compile(r"^model-experts-(?P<rank>\d{5})-of-(?P<world>\d{5})\.safetensors$")


class ExpertCheckpointError(RuntimeError):
    """A checkpoint's expert weights do not match the model: some are missing or unexpected."""


def expert_layout(model: nn.Module) -> dict[str, tuple[int, int, int]]:
    """state-dict prefix of each Experts module -> (global experts, first held, number held)."""
    names = {m: n for n, m in model.named_modules()}
    out = {}
    for moe in moe_layers(model):
        name = names[moe]
        prefix = f"{name}.experts." if name else "experts."
        ex = moe.experts
        out[prefix] = (moe.num_experts, ex.first_expert, ex.num_experts)
    return out


def canonical_state_dict(model: nn.Module, experts_only: bool = False) -> dict[str, torch.Tensor]:
    """The model's state dict with each stacked expert tensor split into per-expert tensors
    under global indices. ``experts_only`` leaves out everything else."""
    sd = model.state_dict()
    prefixes = expert_layout(model)
    out: dict[str, torch.Tensor] = {}
    if not experts_only:
        stacked = {p + n for p in prefixes for n in EXPERT_TENSORS}
        out.update((k, v) for k, v in sd.items() if k not in stacked)
    for prefix, (_, first, held) in prefixes.items():
        for name in EXPERT_TENSORS:
            t = sd[prefix + name]
            for j in range(held):
                out[f"{prefix}{first + j}.{name}"] = t[j]
    return out


def load_canonical_state_dict(model: nn.Module, source: Mapping[str, torch.Tensor]) -> None:
    """Load a canonical state dict (or any mapping with ``keys()`` and ``[]``) into ``model``,
    taking only the experts this rank holds. Raises ExpertCheckpointError on any mismatch."""
    prefixes = expert_layout(model)
    keys = list(source.keys())
    missing: list[str] = []
    unexpected: list[str] = []
    for key in keys:
        m = _EXPERT_KEY.match(key)
        if not m:
            continue
        layer = prefixes.get(m["prefix"])
        if layer is None:
            unexpected.append(f"{key} (no MoE layer at {m['prefix'][:-1]!r})")
        elif int(m["index"]) >= layer[0]:
            unexpected.append(f"{key} (the layer has {layer[0]} experts)")
        elif m["name"] not in EXPERT_TENSORS:
            unexpected.append(f"{key} (unknown expert tensor {m['name']!r})")
    present = set(keys)
    model_sd = model.state_dict()
    stacked: dict[str, torch.Tensor] = {}
    for prefix, (_, first, held) in prefixes.items():
        for name in EXPERT_TENSORS:
            wanted = [f"{prefix}{g}.{name}" for g in range(first, first + held)]
            absent = [k for k in wanted if k not in present]
            if absent:
                missing += absent
                continue
            t = torch.stack([source[k] for k in wanted])
            want_shape = model_sd[prefix + name].shape
            if t.shape != want_shape:
                raise ExpertCheckpointError(f"{prefix}<g>.{name}: checkpoint experts have shape "
                                            f"{tuple(t.shape[1:])}, the model {tuple(want_shape[1:])}")
            stacked[prefix + name] = t
    if missing or unexpected:
        raise ExpertCheckpointError(_describe(missing, unexpected))
    rest = {k: source[k] for k in keys if not _EXPERT_KEY.match(k)}
    result = model.load_state_dict({**rest, **stacked}, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ExpertCheckpointError(_describe(result.missing_keys, result.unexpected_keys))


def _describe(missing: list[str], unexpected: list[str]) -> str:
    def head(xs):
        return ", ".join(xs[:8]) + (f" ... ({len(xs)} in all)" if len(xs) > 8 else "")

    parts = []
    if missing:
        parts.append(f"missing from the checkpoint: {head(missing)}")
    if unexpected:
        parts.append(f"unexpected in the checkpoint: {head(unexpected)}")
    return ("checkpoint does not match the model's experts; " + "; ".join(parts)
            + ". Check that the checkpoint was written for this preset (num_experts, layers) "
            "and that every rank's shard file is present.")


def shard_path(directory: str | os.PathLike, rank: int, world: int) -> Path:
    """The file rank ``rank`` of ``world`` writes in ``directory``."""
    if rank == 0:
        return Path(directory) / MAIN_FILE
    return Path(directory) / f"model-experts-{rank:05d}-of-{world:05d}.safetensors"


def has_experts(model: nn.Module) -> bool:
    return bool(moe_layers(model))


def save_sharded(model: nn.Module, directory: str | os.PathLike, rank: int = 0,
                 world: int = 1) -> Path:
    """Write this rank's part of the canonical state dict (atomically). Under expert
    parallelism every rank calls it with the same directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    sd = canonical_state_dict(model, experts_only=rank != 0)
    # safetensors refuses tensors that share storage (expert slices, tied embeddings)
    tensors = {k: v.detach().to("cpu").clone().contiguous() for k, v in sd.items()}
    path = shard_path(directory, rank, world)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={"format": "m6-moe-canonical", "rank": str(rank),
                                           "world": str(world)})
    os.replace(tmp, path)
    return path


class ShardedCheckpoint(Mapping):
    """Read-only mapping over ``model.safetensors`` and the expert files of its set; tensors
    are read from disk only when looked up."""

    def __init__(self, directory: str | os.PathLike) -> None:
        directory = Path(directory)
        main = directory / MAIN_FILE
        if not main.is_file():
            raise FileNotFoundError(f"no {MAIN_FILE} in {directory}")
        self._handles = {main: safe_open(str(main), framework="pt")}
        world = int((self._handles[main].metadata() or {}).get("world", "1"))
        extra = {int(m["rank"]): (p, int(m["world"])) for p in directory.iterdir()
                 if (m := _SHARD_NAME.match(p.name))}
        stale = sorted(p.name for p, w in extra.values() if w != world)
        if stale:
            raise ExpertCheckpointError(
                f"{directory}: {MAIN_FILE} was written by {world} rank(s) but {stale} belong to "
                "another set; remove the stale files")
        lost = sorted(set(range(1, world)) - set(extra))
        if lost:
            raise ExpertCheckpointError(
                f"{directory} is missing the expert files of ranks {lost} of {world}")
        for p, _ in sorted(extra.values()):
            self._handles[p] = safe_open(str(p), framework="pt")
        self._where: dict[str, Path] = {}
        for p, h in self._handles.items():
            for k in h.keys():
                if k in self._where:
                    raise ExpertCheckpointError(f"{k} is in both {self._where[k].name} and {p.name}")
                self._where[k] = p

    def __getitem__(self, key: str) -> torch.Tensor:
        return self._handles[self._where[key]].get_tensor(key)

    def __iter__(self):
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


def load_sharded(model: nn.Module, directory: str | os.PathLike) -> None:
    """Load a directory written by ``save_sharded`` (any number of ranks) into ``model`` in
    whatever expert-parallel layout it has now."""
    load_canonical_state_dict(model, ShardedCheckpoint(directory))
