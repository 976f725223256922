"""The training state (weights, AdamW state, schedule, every rank's RNG) as one
``torch.distributed.checkpoint`` (DCP) checkpoint, sharded and reshardable.

Every rank calls ``save_state`` with its own part and writes its own ``__<rank>_0.distcp`` file;
nothing is gathered on one rank. DCP stores each tensor with its global shape and, for a sharded
one, which rank held which slice, so ``load_state`` reads whatever slices the loading layout
needs -- another number of processes included (torchtitan's and DCP's resharding):

- model and optimiser go through ``torch.distributed.checkpoint.state_dict.get_state_dict`` /
  ``set_state_dict``, keyed by parameter name: FSDP2 (``fully_shard``) parameters and their AdamW
  moments are DTensors and are saved as shards; replicated (data-parallel) tensors are written
  once (DCP de-duplicates them);
- the stacked expert tensors of an expert-parallel MoE layer are plain local tensors (rank r holds
  experts ``[r*L, (r+1)*L)``); here they are described as DTensors sharded on dimension 0 of the
  global ``(num_experts, ...)`` tensor, so one process reads all experts and 2 ranks read halves;
- the LR schedule and the RNG states are small Python values; they are stored as ``uint8``
  tensors holding a ``torch.save`` blob, read back with ``torch.load(weights_only=True)``. The
  schedule is one entry (``extra/scheduler``), the RNG one per rank (``extra/rng/<rank>``).

Reading never unpickles code: DCP's ``.metadata`` file is a pickle, so it is read with an
unpickler that allows only DCP's metadata classes, ``torch.Size``, dtypes and paths
(``reader``), and the optimiser's ``param_groups`` (DCP stores them as ``torch.save`` bytes)
load with ``weights_only=True`` (``SafeLoadPlanner``).

An optimiser entry the checkpoint does not hold (a parameter that never had a gradient, so AdamW
never made state for it) is left out of the load, so it stays absent as in the run that wrote it.
"""

from __future__ import annotations

import contextlib
import io
import pickle
import warnings
from typing import Any

import torch
import torch.distributed.checkpoint as dcp
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem
from torch import nn
from torch.distributed.checkpoint import FileSystemReader, FileSystemWriter
from torch.distributed.checkpoint._fsspec_filesystem import FsspecReader, FsspecWriter
from torch.distributed.checkpoint.default_planner import DefaultLoadPlanner
from torch.distributed.checkpoint.metadata import Metadata, StorageMeta
from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

from model.train.moe_checkpoint import EXPERT_TENSORS, expert_layout

SCHEDULER = "extra/scheduler"


@contextlib.contextmanager
def _quiet_single_process():
    """DCP warns on every call without a process group that it assumes one process; that is
    the intent here, so the warning is dropped (and only then)."""
    import torch.distributed as dist

    with warnings.catch_warnings():
        if not (dist.is_available() and dist.is_initialized()):
            warnings.filterwarnings("ignore", message="torch.distributed is disabled")
        yield


def rng_key(rank: int) -> str:
    return f"extra/rng/{rank}"


# ---------------------------------------------------------------------- safe reading


class _MetadataUnpickler(pickle.Unpickler):
    """Only the classes DCP's ``.metadata`` is made of; anything else is refused."""

    _MODULES = ("torch.distributed.checkpoint.metadata", "torch.distributed.checkpoint.filesystem")
    _PATHS = ("Path", "PosixPath", "PurePosixPath", "WindowsPath", "PureWindowsPath")

    def find_class(self, module: str, name: str) -> Any:
        if module in self._MODULES:  # only the classes defined there, not what they import
            found = super().find_class(module, name)
            if isinstance(found, type) and found.__module__ == module:
                return found
        if module == "torch" and (name == "Size" or isinstance(getattr(torch, name, None),
                                                               torch.dtype)):
            return getattr(torch, name)
        if module == "torch.serialization" and name == "_get_layout":
            return super().find_class(module, name)
        if module == "pathlib" and name in self._PATHS:  # the checkpoint id of a local writer
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"checkpoint metadata refers to {module}.{name}, which a "
                                     "DCP checkpoint never holds: refusing to load it")


class _SafeMetadata:
    """``read_metadata`` with ``_MetadataUnpickler`` (mixed into DCP's readers)."""

    def read_metadata(self, *args: Any, **kwargs: Any) -> Metadata:
        path = self._get_metadata_path(kwargs.get("rank"))
        with self.fs.create_stream(path, "rb") as fh:
            metadata = _MetadataUnpickler(fh).load()
        if not isinstance(metadata, Metadata):
            raise pickle.UnpicklingError(f"{path} is not DCP metadata")
        if getattr(metadata, "storage_meta", None) is None:
            metadata.storage_meta = StorageMeta()
        metadata.storage_meta.load_id = self.load_id
        return metadata


class _SafeLocalReader(_SafeMetadata, FileSystemReader):
    pass


class _SafeFsspecReader(_SafeMetadata, FsspecReader):
    pass


def _is_local(url: str) -> bool:
    return isinstance(url_to_fs(url)[0], LocalFileSystem)


def reader(url: str) -> FileSystemReader:
    """A DCP reader of folder ``url`` that never unpickles code: DCP's own local reader for a
    local path (about twice as fast as going through fsspec), its fsspec reader otherwise."""
    return _SafeLocalReader(url_to_fs(url)[1]) if _is_local(url) else _SafeFsspecReader(url)


def writer(url: str) -> FileSystemWriter:
    """A DCP writer of folder ``url`` (files fsynced on a local disk)."""
    return FileSystemWriter(url_to_fs(url)[1], sync_files=True) if _is_local(url) else (
        FsspecWriter(url))


class SafeLoadPlanner(DefaultLoadPlanner):
    """DefaultLoadPlanner that reads non-tensor entries with ``torch.load(weights_only=True)``."""

    def load_bytes(self, read_item, value: io.BytesIO) -> None:
        obj = torch.load(value, weights_only=True)
        if self.flatten_state_dict:
            from torch.distributed.checkpoint._nested_dict import set_element  # noqa: PLC0415

            set_element(self.original_state_dict, self.mappings[read_item.dest_index.fqn], obj)
        else:
            self.state_dict[read_item.dest_index.fqn] = obj


def pack(obj: Any) -> torch.Tensor:
    """``obj`` (tensors, numbers, strings, containers) as a uint8 tensor for DCP."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    return torch.frombuffer(bytearray(buf.getvalue()), dtype=torch.uint8)


def unpack(t: torch.Tensor) -> Any:
    return torch.load(io.BytesIO(t.numpy().tobytes()), weights_only=True)


# ---------------------------------------------------------------------- expert parallelism


def _expert_dtensors(model: nn.Module, msd: dict, osd: dict) -> tuple[dict, dict]:
    """Copies of ``msd`` and ``osd`` with the expert tensors of this rank (and their AdamW
    moments) as DTensors sharded on dimension 0 of the global ``(num_experts, ...)`` tensor (see
    the module docstring). Copies: ``get_state_dict`` hands out the optimiser's own dicts."""
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import DTensor, Shard

    msd = dict(msd)
    osd = {**osd, "state": {k: dict(v) for k, v in osd["state"].items()}}
    layout = {p: v for p, v in expert_layout(model).items() if v[2] < v[0]}
    if not layout:
        return msd, osd
    world, rank = dist.get_world_size(), dist.get_rank()
    device = next(model.parameters()).device
    mesh = init_device_mesh(device.type, (world,))

    def wrap(t: torch.Tensor, experts: int) -> torch.Tensor:
        shape = (experts, *t.shape[1:])
        return DTensor.from_local(t, mesh, [Shard(0)], run_check=False, shape=torch.Size(shape),
                                  stride=torch.empty(shape, device="meta").stride())

    for prefix, (experts, first, held) in layout.items():
        if first != rank * held or experts != world * held:
            raise ValueError(f"{prefix}: experts {first}..{first + held - 1} on rank {rank} of "
                             f"{world} is not the even split DCP's Shard(0) describes")
        for name in EXPERT_TENSORS:
            key = prefix + name
            msd[key] = wrap(msd[key], experts)
            for k, v in osd["state"].get(key, {}).items():
                if torch.is_tensor(v) and v.dim() and v.shape[0] == held:
                    osd["state"][key][k] = wrap(v, experts)
    return msd, osd


def _plain(d: Any) -> Any:
    """``d`` with the DTensors made by ``_expert_dtensors`` turned back into local tensors."""
    if isinstance(d, dict):
        return {k: _plain(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_plain(v) for v in d]
    to_local = getattr(d, "to_local", None)
    return to_local() if callable(to_local) else d


# ---------------------------------------------------------------------- save / load


def save_state(url: str, *, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
               rng: dict[str, Any], rank: int, expert_parallel: bool) -> None:
    """Write the training state into folder ``url`` (any fsspec URL). Every rank calls it (a
    collective when a process group is up)."""
    msd, osd = get_state_dict(model, optimizer)
    if expert_parallel:
        msd, osd = _expert_dtensors(model, msd, osd)
    state = {"model": msd, "optim": osd, SCHEDULER: pack(scheduler.state_dict()),
             rng_key(rank): pack(rng)}
    with _quiet_single_process():
        dcp.save(state, storage_writer=writer(url))


def read_metadata(url: str) -> Metadata:
    return reader(url).read_metadata()


def _check_fits(url: str, msd: dict[str, Any], saved: dict[str, Any]) -> None:
    """A clear error, naming the keys, when the checkpoint's weights are not this model's."""
    have = {k.removeprefix("model."): v for k, v in saved.items() if k.startswith("model.")}
    missing = sorted(set(msd) - set(have))
    unexpected = sorted(set(have) - set(msd))
    shapes = sorted(f"{k} {tuple(have[k].size)} vs {tuple(v.shape)}" for k, v in msd.items()
                    if k in have and tuple(getattr(have[k], "size", ())) != tuple(v.shape))
    if missing or unexpected or shapes:
        raise ValueError(f"checkpoint {url} does not fit this model: missing {missing[:8]}, "
                         f"unexpected {unexpected[:8]}, other shapes {shapes[:4]} -- was it "
                         "trained with another config?")


def load_state(url: str, *, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
               rank: int, expert_parallel: bool) -> dict[str, Any] | None:
    """Load the training state in folder ``url`` into this rank's model, optimiser and
    schedule, whatever number of ranks wrote it. Returns the RNG state saved by this rank's
    number, None when the writing run had no such rank."""
    saved = read_metadata(url).state_dict_metadata
    msd, osd = get_state_dict(model, optimizer)
    # AdamW state the writer never had (a parameter without gradients): leave it out
    osd["state"] = {fqn: {k: v for k, v in s.items() if f"optim.state.{fqn}.{k}" in saved}
                    for fqn, s in osd["state"].items()}
    osd["state"] = {fqn: s for fqn, s in osd["state"].items() if s}
    if expert_parallel:
        msd, osd = _expert_dtensors(model, msd, osd)
    _check_fits(url, msd, saved)  # after wrapping: a DTensor's shape is the global one
    state: dict[str, Any] = {"model": msd, "optim": osd}
    for key in (SCHEDULER, rng_key(rank)):
        if key in saved:
            state[key] = torch.empty(saved[key].size, dtype=torch.uint8)
    with _quiet_single_process():
        dcp.load(state, storage_reader=reader(url), planner=SafeLoadPlanner())
    if expert_parallel:
        state["model"], state["optim"] = _plain(state["model"]), _plain(state["optim"])
    set_state_dict(model, optimizer, model_state_dict=state["model"],
                   optim_state_dict=state["optim"])
    scheduler.load_state_dict(unpack(state[SCHEDULER]))
    return unpack(state[rng_key(rank)]) if rng_key(rank) in state else None


def load_model_weights(url: str, model: nn.Module) -> None:
    """Only the weights of the training state in ``url``, into a one-process ``model``."""
    saved = read_metadata(url).state_dict_metadata
    msd = model.state_dict()
    _check_fits(url, msd, saved)
    state = {"model": msd}
    with _quiet_single_process():
        dcp.load(state, storage_reader=reader(url), planner=SafeLoadPlanner())
    model.load_state_dict(state["model"])
