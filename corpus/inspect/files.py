"""Find the Parquet shards ``m6 inspect`` was pointed at, open them for streaming, and summarise
each from its footer alone (no data pages are read).

A PATH is a file, a folder (searched recursively for ``*.parquet``, skipping ``_temporary``-style
folders and hidden files, which hold half-written shards) or a glob, local or any fsspec URL
(``s3://bucket/corpus/text/*.parquet``, ``gs://...``, ``memory://...``). The shards of a corpus
folder (given, or found inside a folder given) are the ones its ``manifest.json`` lists
(``schemas/listing.py``): an incomplete corpus folder is refused unless ``allow_incomplete``, and
then its Parquet files are read as they are and a note says so. Files and globs are read as named.

Shards are opened with ``pre_buffer=False``: with pre-buffering, pyarrow 25 reads ahead over every
row group when a batch is asked for, so a 1 GB shard would be read whole to print one row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import fsspec
import pyarrow.parquet as pq
from fsspec.core import url_to_fs

from schemas.layout import KINDS, STATS_FILE
from schemas.listing import RERUN_OR_ALLOW, IncompleteCorpus, corpus_folder
from schemas.validate import kind_of, version_of


def has_magic(path: str) -> bool:
    """True if ``path`` is a glob pattern (fsspec globs use ``*``, ``?`` and ``[...]``)."""
    return any(c in path for c in "*?[")


class InspectError(Exception):
    """A problem with the user's input (paths, options): printed as is, exit status 2."""


@dataclass(frozen=True)
class Shard:
    """One Parquet file: its filesystem, its path there, and how to show it to a person."""

    fs: fsspec.AbstractFileSystem
    path: str
    url: str  # with the protocol for remote filesystems, as the user would write it

    @contextmanager
    def open(self) -> Iterator[pq.ParquetFile]:
        """A ParquetFile over the shard that reads only the row groups asked for."""
        with self.fs.open(self.path, "rb") as f:
            try:
                pf = pq.ParquetFile(f, pre_buffer=False)
            except Exception as e:  # pyarrow raises ArrowInvalid, OSError, ...
                raise InspectError(f"{self.url}: not a readable Parquet file ({e})") from e
            yield pf


def _is_local(fs: fsspec.AbstractFileSystem) -> bool:
    return "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))


def _is_hidden(path: str, root: str) -> bool:
    rel = path[len(root):].strip("/") if path.startswith(root) else path
    return any(part.startswith(("_", ".")) for part in rel.split("/")[:-1]) or \
        rel.rsplit("/", 1)[-1].startswith((".", "_"))


def _listed(fs: fsspec.AbstractFileSystem, url: str, allow_incomplete: bool,
            notes: list[str] | None) -> list[str] | None:
    """The paths (on ``fs``) of the shards the corpus folder at ``url`` lists, or ``None`` when
    ``url`` is not a corpus folder or one of its kind sub-folders."""
    try:
        folder = corpus_folder(url)
        if folder is None:
            return None
        urls = [u for k in folder.kinds
                for u in folder.shards(k, allow_incomplete=allow_incomplete, hint=RERUN_OR_ALLOW)]
    except IncompleteCorpus as e:
        raise InspectError(str(e)) from None
    if not folder.complete and notes is not None and folder.note() not in notes:
        notes.append(folder.note())
    return [url_to_fs(u)[1] for u in urls]


def expand(paths: list[str], *, allow_incomplete: bool = False,
           notes: list[str] | None = None) -> list[Shard]:
    """The shards named by ``paths`` (files, folders, globs), each once, in a stable order.
    A corpus folder's shards come from its manifest; ``notes`` gets a line per incomplete
    corpus folder read because ``allow_incomplete``."""
    shards: list[Shard] = []
    seen: set[str] = set()
    for given in paths:
        fs, root = url_to_fs(given)
        is_local = _is_local(fs)
        if has_magic(root):
            found = sorted(p for p in fs.glob(root) if not fs.isdir(p))
        elif fs.isdir(root):
            found = _listed(fs, given, allow_incomplete, notes)
            if found is None:
                found = _folder(fs, root, allow_incomplete, notes)
        elif fs.exists(root):
            found = [root]
        else:
            raise InspectError(f"{given}: no such file or folder")
        if not found:
            raise InspectError(f"{given}: no Parquet files there (a folder is searched for "
                               "*.parquet; quote globs so the shell does not expand them)")
        for p in found:
            url = p if is_local else fs.unstrip_protocol(p)
            if url not in seen:
                seen.add(url)
                shards.append(Shard(fs, p, url))
    return shards


def _folder(fs: fsspec.AbstractFileSystem, root: str, allow_incomplete: bool,
            notes: list[str] | None) -> list[str]:
    """Parquet files under a folder that is no corpus folder; those inside a corpus folder
    further down (``<corpus>/<kind>/*.parquet``) are the ones its manifest lists."""
    found = sorted(p for p in fs.find(root) if p.endswith(".parquet") and not _is_hidden(p, root))
    kind_folders = sorted({p.rsplit("/", 1)[0] for p in found
                           if p.rsplit("/", 2)[-2:-1] and p.rsplit("/", 2)[-2] in KINDS})
    for folder in kind_folders:
        url = folder if _is_local(fs) else fs.unstrip_protocol(folder)
        listed = _listed(fs, url, allow_incomplete, notes) or []
        found = [p for p in found if p.rsplit("/", 1)[0] != folder] + listed
    return sorted(found)


def stats_files(paths: list[str]) -> list[tuple[str, bytes]]:
    """``(url, content)`` of the ``stats.json`` at the top of each folder in ``paths``."""
    found = []
    for given in paths:
        fs, root = url_to_fs(given)
        if has_magic(root) or not fs.isdir(root):
            continue
        path = root.rstrip("/") + "/" + STATS_FILE
        if fs.exists(path):
            found.append((given.rstrip("/") + "/" + STATS_FILE, fs.cat_file(path)))
    return found


@dataclass
class FileSummary:
    """What a shard's footer says: schema, version, rows, row groups, sizes, codecs."""

    path: str
    schema: str | None
    version: str | None
    rows: int
    row_groups: int
    bytes: int
    uncompressed_bytes: int
    compression: list[str] = field(default_factory=list)
    created_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def summarise(shard: Shard, pf: pq.ParquetFile) -> FileSummary:
    meta = pf.metadata
    codecs: set[str] = set()
    uncompressed = 0
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        uncompressed += rg.total_byte_size
        for j in range(rg.num_columns):
            codecs.add(rg.column(j).compression)
    schema = pf.schema_arrow
    return FileSummary(
        path=shard.url,
        schema=kind_of(schema),
        version=version_of(schema),
        rows=meta.num_rows,
        row_groups=meta.num_row_groups,
        bytes=int(shard.fs.size(shard.path)),
        uncompressed_bytes=uncompressed,
        compression=sorted(c.lower() for c in codecs),
        created_by=meta.created_by,
    )


def row_group_of(pf: pq.ParquetFile, row: int) -> tuple[int, int]:
    """``(row group, row inside it)`` of the file's ``row``-th row, from the footer."""
    meta = pf.metadata
    for i in range(meta.num_row_groups):
        n = meta.row_group(i).num_rows
        if row < n:
            return i, row
        row -= n
    raise IndexError(row)
