"""Which ``source`` ``m6 corpus`` gives the pages of a crawl folder (issue 14.6).

A crawl folder written by ``m6 crawl`` has ``DIR/warc/*.warc.gz`` and, once complete,
``DIR/manifest.json`` with ``"kind": "m6 crawl"`` and the ``"source"`` its pages stand for
(``webpage`` for ``m6 crawl urls`` unless its ``--source`` said otherwise, ``common_crawl`` for
``m6 crawl cc``). Every other WARC file gets the run's ``run.crawl_source``. The lookup is one
small read per folder, done by the driver before the pipeline starts.
"""

from __future__ import annotations

import json

import fsspec

MANIFEST = "manifest.json"
KIND = "m6 crawl"


def crawl_sources(paths: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``{path: source}`` for the WARC files that lie in ``<crawl folder>/warc/``."""
    by_folder: dict[str, str | None] = {}
    out: dict[str, str] = {}
    for path in paths:
        parent, _, _name = path.rpartition("/")
        folder, _, leaf = parent.rpartition("/")
        if leaf != "warc" or not folder:
            continue
        if folder not in by_folder:
            by_folder[folder] = _manifest_source(f"{folder}/{MANIFEST}")
        if by_folder[folder]:
            out[path] = by_folder[folder]
    return out


def _manifest_source(path: str) -> str | None:
    try:
        with fsspec.open(path, "rt", encoding="utf-8") as f:
            data = json.loads(f.read(1_000_000))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        return None
    source = data.get("source")
    return source if isinstance(source, str) and source else None
