"""Where checkpoints live: a folder on any fsspec filesystem (a local path, ``memory://``,
``s3://bucket/run``, ``gs://...``), and the publish protocol that makes a checkpoint appear whole
or not at all.

A run's checkpoints are ``<root>/step_XXXXXXXX/`` folders plus ``<root>/latest``, a one-line
file naming the newest complete one. A checkpoint is written into ``step_XXXXXXXX.tmp/`` and
renamed into place only when every file is in it; then ``latest`` is replaced (written under
another name and moved over). A crash mid-write leaves at most a ``*.tmp`` folder, which the
next save removes; older checkpoints beyond ``keep`` are pruned only after the new one is in
place. On a local disk every file and the folder are fsynced before the rename (POSIX rename is
atomic). On object stores (S3, GCS) a "rename" is a copy and delete, so a crash during publish
can leave a complete ``step_*`` folder that ``latest`` does not name yet -- still never a
``latest`` that names a partial one, which is what resuming relies on.

Remote filesystems need their fsspec package (``s3fs``, ``gcsfs``) and credentials the usual
way (environment, config files); m6 adds nothing of its own.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import fsspec
from fsspec.implementations.local import LocalFileSystem

LATEST = "latest"


class CheckpointStore:
    """The checkpoint root ``url`` (a plain path or any fsspec URL)."""

    def __init__(self, url: str | os.PathLike) -> None:
        self.url = os.fspath(url)
        self.fs, self.root = fsspec.core.url_to_fs(self.url)
        self.local = isinstance(self.fs, LocalFileSystem)

    def __repr__(self) -> str:
        return f"CheckpointStore({self.url!r})"

    # ------------------------------------------------------------------ paths

    def path(self, *parts: str) -> str:
        """Filesystem path (no protocol) of ``parts`` under the root."""
        return posixpath.join(self.root, *parts)

    def url_of(self, *parts: str) -> str:
        """A URL of ``parts`` under the root that fsspec (and DCP's FsspecWriter) opens."""
        return self.fs.unstrip_protocol(self.path(*parts)) if not self.local else self.path(*parts)

    # ------------------------------------------------------------------ files

    def exists(self, *parts: str) -> bool:
        return self.fs.exists(self.path(*parts))

    def read_bytes(self, *parts: str) -> bytes:
        return self.fs.cat_file(self.path(*parts))

    def read_text(self, *parts: str) -> str:
        return self.read_bytes(*parts).decode("utf-8")

    def write_bytes(self, data: bytes, *parts: str) -> None:
        with self.fs.open(self.path(*parts), "wb") as fh:
            fh.write(data)

    def write_text(self, text: str, *parts: str) -> None:
        self.write_bytes(text.encode("utf-8"), *parts)

    def put(self, local_file: str | os.PathLike, *parts: str) -> None:
        """Copy a local file to ``parts`` under the root."""
        self.fs.put_file(os.fspath(local_file), self.path(*parts))

    @contextmanager
    def local_folder(self, *parts: str) -> Iterator[Path]:
        """A local folder holding the files of ``parts`` (the folder itself on a local disk;
        a temporary copy of its top-level files otherwise), for readers that need real files
        (safetensors' lazy ``safe_open``)."""
        if self.local:
            yield Path(self.path(*parts))
            return
        with tempfile.TemporaryDirectory(prefix="m6-ckpt-") as tmp:
            for info in self.fs.ls(self.path(*parts), detail=True):
                if info["type"] == "file":
                    self.fs.get_file(info["name"], os.path.join(tmp, posixpath.basename(info["name"])))
            yield Path(tmp)

    # ------------------------------------------------------------------ publish protocol

    def begin(self, step: int) -> str:
        """A fresh ``step_XXXXXXXX.tmp`` folder to write checkpoint ``step`` into (debris of
        earlier crashed writes removed); returns its name under the root."""
        self.fs.makedirs(self.root, exist_ok=True)
        for stale in self.fs.glob(self.path("*.tmp")):
            self.fs.rm(stale, recursive=True)
        name = f"step_{step:08d}.tmp"
        self.fs.makedirs(self.path(name), exist_ok=True)
        return name

    def publish(self, tmp: str, keep: int = 2) -> str:
        """Move folder ``tmp`` (from ``begin``) into place, point ``latest`` at it and prune all
        but the ``keep`` newest; returns the final folder's name."""
        final = tmp.removesuffix(".tmp")
        if self.local:
            _fsync_tree(Path(self.path(tmp)))
        if self.fs.exists(self.path(final)):
            self.fs.rm(self.path(final), recursive=True)
        if self.local:
            os.rename(self.path(tmp), self.path(final))
        else:
            self.fs.mv(self.path(tmp), self.path(final), recursive=True)
        marker = LATEST + ".tmp-file"
        self.write_text(final + "\n", marker)
        if self.local:
            os.replace(self.path(marker), self.path(LATEST))
            _fsync(self.root)
        else:
            self.fs.mv(self.path(marker), self.path(LATEST))
        done = self.steps()
        for old in done[:-keep] if keep > 0 else []:
            self.fs.rm(self.path(old), recursive=True)
        return final

    def steps(self) -> list[str]:
        """Names of the complete ``step_*`` folders, oldest first."""
        names = (posixpath.basename(p.rstrip("/")) for p in self.fs.glob(self.path("step_*")))
        return sorted(n for n in names if not n.endswith(".tmp"))

    def latest(self) -> str | None:
        """The name of the checkpoint ``latest`` points at, if the marker is there."""
        if not self.fs.isfile(self.path(LATEST)):
            return None
        return self.read_text(LATEST).strip() or None


def _fsync(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    """fsync every file and folder under ``folder`` (the DCP files sit in a subfolder)."""
    for dirpath, _, files in os.walk(folder):
        for f in files:
            _fsync(os.path.join(dirpath, f))
        _fsync(dirpath)
