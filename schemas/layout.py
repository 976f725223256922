"""The layout of a corpus output folder, owned in one place: its kinds, its file names and its
manifest.

``m6 corpus --output OUT`` writes (``pipelines/sink.py``)::

    OUT/text/part-BBBBB-of-NNNNN-PPP.parquet        kept plain-text rows
    OUT/image_text/part-...parquet                  kept image-text pairs
    OUT/rejected/part-...parquet                    every dropped record, with stage and reason
    OUT/stats.json                                  Table 1 figures (``schemas/statistics.py``)
    OUT/config.json                                 the resolved configuration of the run
    OUT/README.md                                   the dataset card (``corpus/card.py``)
    OUT/manifest.json                               every shard of the run and its rows, last
    OUT/report.html                                 the HTML report (``m6 report``)
    OUT/_temporary/                                 half-written files, only during a run
    OUT/_spill/                                     dedup's batches and rows on their way to
                                                    a shard (``pipelines/spill.py``), only
                                                    during a run

The manifest is the contract between the writer and every reader (cc_net's ``tmp`` + ``finalize``,
datatrove's completion markers): it is removed before a run writes anything and written after
every other file, so its presence means the run finished, and it names exactly the shards that
run wrote. Readers (``m6 inspect``, ``m6 report``, ``m6 pretrain``, ``--dedup-against``) list a
corpus folder's shards from it (``schemas/listing.py``) and refuse a folder without one, or with
shards it does not name (a stale shard left by a killed rerun would duplicate ids).

``Manifest.to_json`` writes the same bytes the pipeline always wrote, and ``from_json`` refuses
anything else with a one-line reason: a manifest is read from a folder that may be hostile, so a
listed path must be a plain ``<kind>/<name>.parquet`` inside the folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

KINDS = ("text", "image_text", "rejected")  # every output kind, in the order files are listed
OUTPUT_KINDS = ("text", "image_text")  # the kinds that hold kept rows (training data, Table 1)

MANIFEST_FILE = "manifest.json"
STATS_FILE = "stats.json"
CONFIG_FILE = "config.json"
REPORT_FILE = "report.html"
CARD_FILE = "README.md"  # Hugging Face dataset card: configs per kind, Table 1, settings
TEMP_DIR = "_temporary"
SHARD_SUFFIX = ".parquet"


class ManifestError(ValueError):
    """``manifest.json`` is not a manifest this version of m6 wrote (one line, says why)."""


@dataclass(frozen=True)
class ShardEntry:
    """One shard of a run: its path relative to the corpus folder, and its row count."""

    path: str  # "<kind>/part-...parquet"
    rows: int

    @property
    def kind(self) -> str:
        return self.path.split("/", 1)[0]


@dataclass(frozen=True)
class Manifest:
    """The shards of one complete run, per kind, sorted by path."""

    files: dict[str, tuple[ShardEntry, ...]]

    @classmethod
    def of(cls, written: Iterable[tuple[str, int]]) -> Manifest:
        """The manifest of ``(relative path, rows)`` pairs, as the sink collects them."""
        by_kind: dict[str, list[ShardEntry]] = {kind: [] for kind in KINDS}
        for path, rows in written:
            entry = ShardEntry(path, int(rows))
            if entry.kind not in by_kind:
                raise ManifestError(f"shard {path!r} is not under one of {', '.join(KINDS)}")
            by_kind[entry.kind].append(entry)
        return cls({kind: tuple(sorted(entries, key=lambda e: e.path))
                    for kind, entries in by_kind.items()})

    @property
    def rows(self) -> dict[str, int]:
        return {kind: sum(e.rows for e in self.files[kind]) for kind in KINDS}

    def paths(self, kind: str) -> list[str]:
        """Relative paths of the shards of ``kind``."""
        return [e.path for e in self.files[kind]]

    def to_dict(self) -> dict:
        return {"files": {kind: [{"path": e.path, "rows": e.rows} for e in self.files[kind]]
                          for kind in KINDS},
                "rows": self.rows}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        """Parse and check a manifest; ``ManifestError`` says what is wrong."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as e:
            raise ManifestError(f"not JSON ({type(e).__name__})") from None
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
            raise ManifestError('no "files" object')
        files = data["files"]
        missing = [k for k in KINDS if k not in files]
        if missing:
            raise ManifestError(f"no entry for {', '.join(missing)}")
        unknown = sorted(set(files) - set(KINDS))
        if unknown:
            raise ManifestError(f"unknown kinds {', '.join(map(repr, unknown))}")
        entries = []
        for kind in KINDS:
            if not isinstance(files[kind], list):
                raise ManifestError(f'"files.{kind}" is not a list')
            for item in files[kind]:
                entries.append(_entry(kind, item))
        manifest = cls.of((e.path, e.rows) for e in entries)
        if "rows" in data and data["rows"] != manifest.rows:
            raise ManifestError(f'"rows" {data["rows"]!r} is not the sum of the shards\' rows '
                                f"{manifest.rows!r}")
        return manifest


def _entry(kind: str, item: object) -> ShardEntry:
    if not (isinstance(item, dict) and isinstance(item.get("path"), str)
            and type(item.get("rows")) is int and item["rows"] >= 0):
        raise ManifestError(f"a {kind} entry is not {{\"path\": str, \"rows\": int >= 0}}")
    path = item["path"]
    name = path[len(kind) + 1:]
    # Only a plain file right inside the kind folder: a listed path never leaves the corpus.
    if not path.startswith(kind + "/") or not name.endswith(SHARD_SUFFIX) or "/" in name \
            or "\\" in name or name.startswith((".", "_")):
        raise ManifestError(f"{path[:200]!r} is not a {kind}/<name>{SHARD_SUFFIX} shard path")
    return ShardEntry(path, item["rows"])
