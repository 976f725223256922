"""Checkpoints that resume exactly, reshard to another number of processes, live on any fsspec
path, and load for inference without unpickling code.

A checkpoint is a folder ``<root>/step_00000100/`` (``root`` is the run's ``checkpoints/`` or
any fsspec URL given with ``--checkpoint-dir``, ``model/train/ckpt_store.py``) holding

- ``state/``: the training state written with ``torch.distributed.checkpoint`` -- weights, AdamW
  state, schedule and every rank's RNG; each rank writes its own part, nothing is gathered, and
  any number of processes reads it back (``model/train/dcp_state.py``);
- ``model.safetensors``: the portable weights for inference (``m6 generate``, ``m6 caption``, the
  apps). One process or plain data parallelism: rank 0's replica (tied tensors stored once, by
  ``safetensors.torch.save_model``). MoE: the canonical per-expert form, rank r writing its own
  experts (``model/train/moe_checkpoint.py``). FSDP: gathered on rank 0 only at the run's last
  step (``export``), so the periodic checkpoints of a large model never gather it; an
  intermediate FSDP checkpoint still loads for inference, from ``state/``;
- ``trainer.json``: ``format`` (2), step, the run config, the number of processes, the data
  position of every reader by global reader number (``model/train/reshard.py``);
- ``tokenizer.json``, with ``tokenizer_config.json`` and ``special_tokens_map.json`` so the
  checkpoint folder loads in ``transformers.AutoTokenizer``.

Publishing is atomic (``CheckpointStore.begin``/``publish``): ``latest`` names only complete
checkpoints. Checkpoints of format 1 (``optimizer.pt`` next to the weights) still load for
inference; one written by one process still resumes; one written by several processes resumes
with the same number of processes (``model/distributed/checkpoint.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_model, save_file, save_model

from model.data.tokenizer import (
    HF_CONFIG_FILE,
    HF_SPECIAL_TOKENS,
    HF_SPECIAL_TOKENS_FILE,
    hf_tokenizer_config,
)
from model.train.ckpt_store import CheckpointStore
from model.train.dcp_state import load_state, save_state
from model.train.moe_checkpoint import has_experts, load_sharded, save_sharded
from model.train.reshard import fallback_rng_seed, global_data, local_data

FORMAT = 2
STATE = "state"
WEIGHTS = "model.safetensors"


def rng_state() -> dict[str, Any]:
    state = {
        "torch": torch.get_rng_state(),
        "numpy": _numpy_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _numpy_state() -> tuple:
    kind, key, pos, has_gauss, gauss = np.random.get_state()
    return (kind, torch.from_numpy(key.astype(np.int64)), int(pos), int(has_gauss), float(gauss))


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    kind, key, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.asarray(key.numpy(), dtype=np.uint32), pos, has_gauss, gauss))
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ---------------------------------------------------------------------- collectives


def _world() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def _barrier() -> None:
    if _world() > 1:
        dist.barrier()


def _gather(obj: Any) -> list[Any]:
    if _world() == 1:
        return [obj]
    out: list[Any] = [None] * _world()
    dist.all_gather_object(out, obj)
    return out


def _ref(store: CheckpointStore, name: str) -> Path | str:
    """A checkpoint's folder: a ``Path`` on a local disk, a URL elsewhere."""
    return Path(store.path(name)) if store.local else store.url_of(name)


# ---------------------------------------------------------------------- save


def save_checkpoint(
    root: str | os.PathLike,
    step: int,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    trainer_state: dict[str, Any],
    data_state: dict[str, Any] | None = None,
    tokenizer_path: str | os.PathLike | None = None,
    keep: int = 2,
    rank: int = 0,
    expert_parallel: bool = False,
    fsdp: bool = False,
    export: bool = True,
) -> Path | str | None:
    """Write checkpoint ``step`` under ``root`` (a path or fsspec URL). With a process group up,
    every rank calls it at the same step; returns the checkpoint on rank 0, None elsewhere.
    ``trainer_state`` is rank 0's record (step, config, ...), ``data_state`` this rank's
    ``DataState.to_dict()`` (default: ``trainer_state["data"]``); ``export`` asks an FSDP run
    for the gathered ``model.safetensors`` (every other layout writes it without a gather)."""
    store = CheckpointStore(root)
    tmp = store.begin(step) if rank == 0 else f"step_{step:08d}.tmp"
    by_rank = _gather(data_state if data_state is not None else trainer_state.get("data"))
    save_state(store.url_of(tmp, STATE), model=model, optimizer=optimizer, scheduler=scheduler,
               rng=rng_state(), rank=rank, expert_parallel=expert_parallel)
    _export_weights(store, tmp, model, rank, fsdp=fsdp, export=export)
    _barrier()
    final = None
    if rank == 0:
        meta = {**trainer_state, "format": FORMAT, "world_size": _world(),
                "parallel": {"expert_parallel": expert_parallel, "fsdp": fsdp}}
        if by_rank[0] is not None:
            meta["data"] = global_data(by_rank)
        store.write_text(json.dumps(meta, indent=1, ensure_ascii=False), tmp, "trainer.json")
        if tokenizer_path is not None:
            store.put(tokenizer_path, tmp, "tokenizer.json")
            # the files transformers' AutoTokenizer needs beside it (special tokens)
            for name, data in ((HF_CONFIG_FILE, hf_tokenizer_config()),
                               (HF_SPECIAL_TOKENS_FILE, dict(HF_SPECIAL_TOKENS))):
                store.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", tmp, name)
        final = _ref(store, store.publish(tmp, keep))
    _barrier()
    return final


def _export_weights(store: CheckpointStore, tmp: str, model: torch.nn.Module, rank: int, *,
                    fsdp: bool, export: bool) -> None:
    """``model.safetensors`` (and the expert files of an MoE model) into folder ``tmp``."""
    if fsdp:
        if not export:
            return
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        full = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True,
                                                                    cpu_offload=True))
        if rank == 0:
            _write(store, tmp, WEIGHTS,
                   lambda p: save_file({k: v.contiguous() for k, v in full.items()}, p))
    elif has_experts(model):
        with _local_target(store, tmp) as folder:
            save_sharded(model, folder, rank, _world())
    elif rank == 0:
        _write(store, tmp, WEIGHTS, lambda p: save_model(model, p))


@contextmanager
def _local_target(store: CheckpointStore, tmp: str) -> Iterator[Path]:
    """A local folder to write files into, copied to ``store``'s folder ``tmp`` at the end
    (the folder itself on a local disk)."""
    if store.local:
        yield Path(store.path(tmp))
        return
    with tempfile.TemporaryDirectory(prefix="m6-ckpt-") as local:
        yield Path(local)
        for f in Path(local).iterdir():
            store.put(f, tmp, f.name)


def _write(store: CheckpointStore, tmp: str, name: str, writer) -> None:
    with _local_target(store, tmp) as folder:
        writer(str(folder / name))


# ---------------------------------------------------------------------- resume


def restore_checkpoint(
    ckpt: str | os.PathLike,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    rank: int = 0,
    world: int = 1,
    workers: int = 1,
    seed: int = 0,
    expert_parallel: bool = False,
) -> dict[str, Any]:
    """Load checkpoint ``ckpt`` (a folder or URL of format 2) into this rank, whatever number of
    processes wrote it; returns ``trainer.json`` with ``data`` set to this rank's
    ``DataState`` dict (``model/train/reshard.py``). Every rank calls it."""
    meta = trainer_meta(ckpt)
    store = CheckpointStore(ckpt)
    if "readers_total" not in meta.get("data", {}):
        raise ValueError(f"checkpoint {ckpt} holds no data position (it was not written by a "
                         "training run): load its weights with load_weights instead")
    data = local_data(meta["data"], rank, world, workers, where=f"checkpoint {ckpt}")
    rng = load_state(store.url_of(STATE), model=model, optimizer=optimizer, scheduler=scheduler,
                     rank=rank, expert_parallel=expert_parallel)
    if rng is not None:  # the writer had a rank of this number
        set_rng_state(rng)
    else:
        seed_all(fallback_rng_seed(seed, rank, int(meta["step"])))
    return {**meta, "data": data}


def seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def is_legacy(meta: dict[str, Any]) -> bool:
    """Whether ``trainer.json`` contents ``meta`` are of format 1 (``optimizer.pt``)."""
    return int(meta.get("format", 1)) < FORMAT


def restore_legacy(ckpt: str | os.PathLike, *, model: torch.nn.Module,
                   optimizer: torch.optim.Optimizer, scheduler: Any,
                   world: int = 1) -> dict[str, Any]:
    """Resume a format-1 checkpoint written by one process (weights, ``optimizer.pt``)."""
    meta = trainer_meta(ckpt)
    check_world_size(ckpt, meta, world)
    load_weights(model, ckpt)
    blobs = torch.load(Path(ckpt) / "optimizer.pt", map_location="cpu", weights_only=True)
    optimizer.load_state_dict(blobs["optimizer"])
    scheduler.load_state_dict(blobs["scheduler"])
    set_rng_state(blobs["rng"])
    return meta


def check_world_size(ckpt: str | os.PathLike, meta: dict[str, Any], world_size: int) -> None:
    """Refuse a format-1 checkpoint ``ckpt`` written by another number of processes: its data
    positions and optimiser parts are per process."""
    written_by = int(meta.get("world_size", 1))
    if written_by != world_size:
        raise ValueError(
            f"checkpoint {ckpt} is of the old per-process format, written by {written_by} "
            f"processes, and this run has {world_size}: resume it once with the same number "
            f"(make pretrain NPROC={written_by}); its next checkpoint is reshardable")


# ---------------------------------------------------------------------- inference, lookup


def latest_checkpoint(root: str | os.PathLike) -> Path | str | None:
    """The newest complete checkpoint under ``root`` (a run's ``checkpoints/`` or a URL)."""
    store = CheckpointStore(root)
    name = store.latest()
    if name is None or not store.exists(name, "trainer.json"):
        return None
    return _ref(store, name)


def resolve_checkpoint(path: str | os.PathLike) -> Path | str:
    """Accept a checkpoint folder, a ``checkpoints/`` folder or a run folder (or their URLs)."""
    store = CheckpointStore(path)
    if store.exists("trainer.json"):
        return Path(store.root) if store.local else store.url
    for cand in (store.url, store.url_of("checkpoints")):
        found = latest_checkpoint(cand)
        if found is not None:
            return found
    raise FileNotFoundError(
        f"no checkpoint at {path}: pass a run folder (e.g. out/pretrain), its checkpoints/ folder, "
        "or a checkpoints/step_XXXXXXXX folder"
    )


def load_weights(model: torch.nn.Module, ckpt: str | os.PathLike,
                 device: str | torch.device = "cpu") -> None:
    """Load the weights of checkpoint ``ckpt`` into ``model`` (one process): its
    ``model.safetensors`` (and expert files), else (an intermediate FSDP checkpoint) the weights
    in ``state/``. A missing or unexpected tensor is an error."""
    store = CheckpointStore(ckpt)
    if not store.exists(WEIGHTS):
        if not store.exists(STATE):
            raise FileNotFoundError(f"checkpoint {ckpt} has neither {WEIGHTS} nor {STATE}/")
        from model.train.dcp_state import load_model_weights

        load_model_weights(store.url_of(STATE), model)
        return
    with store.local_folder() as folder:
        if has_experts(model):  # MoE: canonical expert tensors, strict about every expert
            load_sharded(model, folder)
            return
        missing, unexpected = load_model(model, str(folder / WEIGHTS), strict=False,
                                         device=str(device))
    if missing or unexpected:
        raise ValueError(
            f"checkpoint {ckpt} does not fit this model: missing {sorted(missing)[:8]}, "
            f"unexpected {sorted(unexpected)[:8]} -- was it trained with another config?"
        )


def trainer_meta(ckpt: str | os.PathLike) -> dict[str, Any]:
    """``trainer.json`` of checkpoint ``ckpt`` (step, config, ...) without the optimiser."""
    return json.loads(CheckpointStore(ckpt).read_text("trainer.json"))


def tokenizer_file(ckpt: str | os.PathLike) -> Path:
    """The tokenizer saved with checkpoint ``ckpt``, else its run folder's ``tokenizer.json``
    (a remote checkpoint's is copied into a local cache folder named after its URL)."""
    store = CheckpointStore(ckpt)
    if not store.local:
        key = hashlib.sha256(store.url_of().encode()).hexdigest()[:16]
        local = Path(tempfile.gettempdir()) / "m6-checkpoint-cache" / key / "tokenizer.json"
        local.parent.mkdir(parents=True, exist_ok=True)
        store.fs.get_file(store.path("tokenizer.json"), str(local))
        return local
    path = Path(store.root) / "tokenizer.json"
    return path if path.is_file() else Path(store.root).parent.parent / "tokenizer.json"


def read_config(ckpt: str | os.PathLike) -> dict[str, Any]:
    """The resolved run config saved with checkpoint ``ckpt``."""
    return trainer_meta(ckpt)["config"]
