"""Where the quality filters find their files: shipped word lists, and models on any filesystem.

Word lists named without a path (``zh``, ``en``) are the LDNOOBW lists shipped in
``corpus/quality/data`` (see ``data/PROVENANCE.md`` there). Model paths may be local or any fsspec
URL (``gs://``, ``s3://``): kenlm and fastText only open local files, so a remote model (and the
files beside it with the same name and another suffix, such as ``<model>.json``) is copied once
per worker into a local cache folder before it is loaded (``local_copy``), as a Dataflow or Spark
worker sees the bucket but not the submitting machine's disk.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

DATA_DIR = Path(__file__).with_name("data")
SHIPPED_LISTS = {"zh": DATA_DIR / "badwords_zh.txt", "en": DATA_DIR / "badwords_en.txt",
                 # m6's own: entries that count only with other evidence, and compounds that
                 # hold a listed string without being bad (corpus/quality/badwords.py)
                 "zh_weak": DATA_DIR / "badwords_zh_weak.txt",
                 "en_weak": DATA_DIR / "badwords_en_weak.txt",
                 "zh_allow": DATA_DIR / "badwords_zh_allow.txt"}


def word_list_path(spec: str) -> tuple[str, Path]:
    """``(name, path)`` of a word-list spec: a shipped name (``zh``) or ``name=path``."""
    if "=" in spec:
        name, path = spec.split("=", 1)
        name, path = name.strip(), path.strip()
        if not name or not path:
            raise ValueError(f"bad word list {spec!r}: write name=path, e.g. mine=/data/words.txt")
        return name, Path(path)
    if spec not in SHIPPED_LISTS:
        raise ValueError(f"unknown word list {spec!r}: shipped lists are "
                         f"{sorted(SHIPPED_LISTS)}; for your own file write name=path")
    return spec, SHIPPED_LISTS[spec]


def read_word_list(path: Path) -> list[str]:
    """Words of a list file: one a line, stripped, lowercased; blank and ``#`` lines skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"word list {path} not found (quality.badwords.lists)") from None
    words = []
    for line in text.splitlines():
        w = line.strip()
        if w and not w.startswith("#"):
            words.append(w.lower())
    return words


def is_remote(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def local_copy(path: str, sidecars: tuple[str, ...] = ()) -> str:
    """A local path for ``path``: itself when local, else a cached copy (with ``sidecars``:
    suffixes appended to the name, e.g. ``.json``, copied when they exist)."""
    if not is_remote(path):
        return path[len("file://"):] if path.startswith("file://") else path
    import fsspec

    # The cache is keyed by the URL and the remote file's size and version (ETag, mtime or
    # creation time, whatever the filesystem reports), so a model retrained under the same
    # URL is fetched again instead of served stale.
    fs0, remote0 = fsspec.core.url_to_fs(path)
    info = fs0.info(remote0)
    version = next((str(info[k]) for k in ("ETag", "etag", "md5Hash", "mtime", "LastModified",
                                           "updated", "created") if info.get(k)), "")
    key = f"{path}\n{info.get('size')}\n{version}"
    cache = Path(tempfile.gettempdir()) / "m6-models" / hashlib.sha1(key.encode()).hexdigest()
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / path.rstrip("/").rsplit("/", 1)[-1]
    for suffix in ("", *sidecars):
        dest = Path(str(target) + suffix)
        if dest.exists():
            continue
        fs, remote = fsspec.core.url_to_fs(path + suffix)
        if suffix and not fs.exists(remote):
            continue
        tmp = dest.with_name(dest.name + f".{os.getpid()}.tmp")
        fs.get_file(remote, str(tmp))
        os.replace(tmp, dest)
    return str(target)
