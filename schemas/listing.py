"""List the shards of a corpus folder from its manifest, through fsspec: the one way every reader
finds the files of a corpus.

A *corpus folder* is a folder with a ``text/``, ``image_text/`` or ``rejected/`` sub-folder or a
``manifest.json`` (what ``m6 corpus --output`` writes, ``schemas/layout.py``); one of those kind
sub-folders stands for its parent, restricted to that kind. Its shards are the ones its
``manifest.json`` lists, and the folder is read only when the manifest is complete:

- there is a readable manifest (none: the run that writes it is still going, or was killed);
- every shard it lists exists;
- no other Parquet file lies in a kind folder (a shard of an earlier or killed run: reading it
  would mix two runs and duplicate ids).

Otherwise ``IncompleteCorpus`` says, in one line, what is wrong and what to do. A reader may
accept an incomplete folder explicitly (``m6 inspect --allow-incomplete``): it then gets the
Parquet files that are there and the problems to show. Parquet files and globs outside a corpus
folder are not this module's business: readers take them as they are.

Paths are local paths or any fsspec URL (``memory://``, ``s3://``, ``gs://``), so a corpus written
with ``m6 corpus --output s3://...`` is read from the same URL; shard URLs come back in the form
they were given (a local path stays a path).
"""

from __future__ import annotations

from dataclasses import dataclass

import fsspec
import pyarrow.parquet as pq
from fsspec.core import url_to_fs

from schemas.layout import KINDS, MANIFEST_FILE, SHARD_SUFFIX, Manifest, ManifestError

# What the message of a refused folder suggests, per reader.
RERUN = "rerun 'm6 corpus' into it to complete it"
RERUN_OR_ALLOW = RERUN + ", or pass --allow-incomplete to read the Parquet files that are there"


class IncompleteCorpus(ValueError):
    """A corpus folder whose manifest is missing, unreadable or does not match its shards."""


@dataclass(frozen=True)
class CorpusFolder:
    """A corpus folder as found: its manifest, its shards, and why it is incomplete (if it is)."""

    url: str  # as given, without a trailing slash
    kind: str | None  # set when a kind sub-folder was given: only that kind is read
    manifest: Manifest | None
    found: dict[str, tuple[str, ...]]  # kind -> URLs of the Parquet files in its folder
    problems: tuple[str, ...]  # empty when complete

    @property
    def complete(self) -> bool:
        return not self.problems

    @property
    def kinds(self) -> tuple[str, ...]:
        return (self.kind,) if self.kind else KINDS

    def shards(self, kind: str, *, allow_incomplete: bool = False, hint: str = RERUN) -> list[str]:
        """URLs of the shards of ``kind`` (none for a kind outside a given kind sub-folder)."""
        if kind not in self.kinds:
            return []
        if self.problems:
            if not allow_incomplete:
                raise IncompleteCorpus(self.refusal(hint))
            return list(self.found[kind])
        assert self.manifest is not None
        return [f"{self.url}/{p}" for p in self.manifest.paths(kind)]

    def refusal(self, hint: str = RERUN) -> str:
        more = f" (and {len(self.problems) - 1} more problems)" if len(self.problems) > 1 else ""
        return f"{self.url}: incomplete corpus: {self.problems[0]}{more}; {hint}"

    def note(self) -> str:
        """One line for the output of a reader that accepted the folder although incomplete."""
        return (f"incomplete corpus {self.url} (--allow-incomplete): "
                + "; ".join(self.problems[:3])
                + (f"; and {len(self.problems) - 3} more" if len(self.problems) > 3 else ""))


def _join(url: str, name: str) -> str:
    return url.rstrip("/") + "/" + name


def _basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _parent(url: str) -> str:
    url = url.rstrip("/")
    if "/" not in url:
        return "."
    head = url.rsplit("/", 1)[0]
    return head if head and not head.endswith(":/") else url


def corpus_folder(url: str) -> CorpusFolder | None:
    """The corpus folder ``url`` is (or is a kind sub-folder of), checked; ``None`` when ``url``
    is not a folder or not a corpus folder."""
    fs, path = url_to_fs(url)
    if not fs.isdir(path):
        return None
    url = url.rstrip("/")
    kind = _basename(path) if _basename(path) in KINDS else None
    if kind is not None:
        url, path = _parent(url), _parent(path)
    elif not fs.exists(_join(path, MANIFEST_FILE)) and \
            not any(fs.isdir(_join(path, k)) for k in KINDS):
        return None
    return _check(fs, url, path, kind)


def _check(fs: fsspec.AbstractFileSystem, url: str, path: str, kind: str | None) -> CorpusFolder:
    found: dict[str, tuple[str, ...]] = {}
    relative: dict[str, set[str]] = {}
    for k in KINDS:
        folder = _join(path, k)
        names = sorted(_basename(p) for p in (fs.ls(folder, detail=False)
                                              if fs.isdir(folder) else [])
                       if p.endswith(SHARD_SUFFIX) and not _basename(p).startswith((".", "_")))
        relative[k] = {f"{k}/{n}" for n in names}
        found[k] = tuple(f"{url}/{k}/{n}" for n in names)
    problems: list[str] = []
    manifest = None
    manifest_path = _join(path, MANIFEST_FILE)
    if not fs.exists(manifest_path):
        problems.append(f"no {MANIFEST_FILE} (the run writing it is still going, or was killed)")
    else:
        try:
            manifest = Manifest.from_json(fs.cat_file(manifest_path))
        except ManifestError as e:
            problems.append(f"{MANIFEST_FILE} is not an m6 manifest ({e})")
    if manifest is not None:
        for k in KINDS:
            listed = set(manifest.paths(k))
            problems += [f"{p} is listed in {MANIFEST_FILE} but missing"
                         for p in sorted(listed - relative[k])]
            problems += [f"{p} is not listed in {MANIFEST_FILE} (a shard of an earlier or killed "
                         "run)" for p in sorted(relative[k] - listed)]
    return CorpusFolder(url, kind, manifest, found, tuple(problems))


def parquet_file(url: str) -> pq.ParquetFile:
    """A ``ParquetFile`` over a local path or any fsspec URL (remote files are read lazily, a
    row group at a time, through the fsspec file object)."""
    if "://" not in url and not url.startswith("file:"):
        return pq.ParquetFile(url)
    return pq.ParquetFile(fsspec.open(url, "rb").open())
