"""Files on any filesystem Beam knows, written atomically: the one way m6's pipelines write a file.

Every shard, spill file, statistics file and manifest goes through ``write_atomically``: the bytes
go to a uniquely named file under a temporary folder and are renamed into place, so a reader (or a
retried bundle) never sees half a file. All I/O goes through
``apache_beam.io.filesystems.FileSystems``, so a path may be local or ``gs://``, ``s3://``,
``hdfs://``.
"""

from __future__ import annotations

import uuid

from apache_beam.io.filesystems import FileSystems


def join(*parts: str) -> str:
    return FileSystems.join(*parts)


def _ensure_dir(path: str) -> None:
    if not FileSystems.exists(path):
        try:
            FileSystems.mkdirs(path)
        except OSError:  # created by another worker in the meantime
            pass


def write_atomically(path: str, data: bytes, temp_root: str) -> None:
    """Write ``data`` to a unique temporary file under ``temp_root``, then rename it to ``path``."""
    tmp = join(temp_root, f"{uuid.uuid4().hex}.tmp")
    _ensure_dir(temp_root)
    with FileSystems.create(tmp) as f:
        f.write(data)
    _ensure_dir(path.rsplit("/", 1)[0])
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])


__all__ = ["join", "write_atomically"]
