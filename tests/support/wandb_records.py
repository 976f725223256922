"""Read back the records of a W&B offline run file (``run-<id>.wandb``), for the ``--wandb``
test: the metrics that reached W&B, as W&B stored them.

The file is W&B's transaction log: a 7-byte header (``:W&B``, magic 0xBEE1, version) and then
LevelDB-log framing, 32 KiB blocks of chunks with a 7-byte header each (CRC-32C, length, type:
full, first, middle, last), every record a ``wandb_internal_pb2.Record`` protobuf. wandb 0.31
ships no reader for it in Python (its ``datastore`` module moved into the Go core), so this is
the framing of wandb's own former ``sdk/internal/datastore.py``.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

_FILE_HEADER = struct.Struct("<4sHB")
_CHUNK_HEADER = struct.Struct("<IHB")
_BLOCK = 32 * 1024
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def records(path: str | Path) -> list[bytes]:
    data = Path(path).read_bytes()
    ident, magic, _version = _FILE_HEADER.unpack_from(data)
    if ident != b":W&B" or magic != 0xBEE1:
        raise ValueError(f"{path}: not a W&B run file")
    out, pending, pos = [], b"", _FILE_HEADER.size
    while pos + _CHUNK_HEADER.size <= len(data):
        left_in_block = _BLOCK - pos % _BLOCK
        if left_in_block < _CHUNK_HEADER.size:  # the block's tail is padding
            pos += left_in_block
            continue
        _crc, length, kind = _CHUNK_HEADER.unpack_from(data, pos)
        pos += _CHUNK_HEADER.size
        chunk, pos = data[pos:pos + length], pos + length
        if kind == _FULL:
            out.append(chunk)
        elif kind == _FIRST:
            pending = chunk
        elif kind == _MIDDLE:
            pending += chunk
        elif kind == _LAST:
            out.append(pending + chunk)
            pending = b""
        else:
            break  # zero padding at the end of the file
    return out


def history(path: str | Path) -> list[dict[str, Any]]:
    """Every ``run.log`` call of the run file, as ``{"_step": n, "train/loss": ...}``."""
    from wandb.proto import wandb_internal_pb2 as pb

    rows = []
    for raw in records(path):
        rec = pb.Record()
        rec.ParseFromString(raw)
        if rec.WhichOneof("record_type") == "history":
            rows.append({item.key or "/".join(item.nested_key): json.loads(item.value_json)
                         for item in rec.history.item})
    return rows


def config(path: str | Path) -> dict[str, Any]:
    """The run config as the run file holds it (the last value of each key)."""
    from wandb.proto import wandb_internal_pb2 as pb

    out: dict[str, Any] = {}
    for raw in records(path):
        rec = pb.Record()
        rec.ParseFromString(raw)
        kind = rec.WhichOneof("record_type")
        items = rec.config.update if kind == "config" else (
            rec.run.config.update if kind == "run" else [])
        for item in items:
            out[item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
    return out
