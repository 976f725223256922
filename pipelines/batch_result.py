"""What one batch of a run leaves for the driver (``pipelines/batch_run.py``): the shards it wrote,
its statistics accumulator and its input counts, as one JSON file written atomically by the
batch's last step. The driver merges the results of all batches into the corpus's one
``manifest.json`` and ``stats.json``; a batch whose result is recorded is done and is not run
again when a killed run is resumed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from apache_beam.io.filesystems import FileSystems

from pipelines.files import write_atomically


@dataclass(frozen=True)
class BatchResult:
    files: tuple[tuple[str, int], ...]  # (relative shard path, rows)
    stats: dict[str, Any] | None  # corpus.stats accumulator (None: no rows at all)
    inputs: dict[str, Any]  # corpus.parse.counts.fold_counts of its files

    @property
    def records(self) -> int:
        """Input records (pages, lines) its readers saw: what the next batch is sized by."""
        return sum(int(r.get("records", 0)) for r in self.inputs.values())

    def to_json(self) -> str:
        return json.dumps({"files": [list(f) for f in self.files], "stats": self.stats,
                           "inputs": self.inputs}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> BatchResult:
        data = json.loads(text)
        return cls(tuple((str(p), int(n)) for p, n in data["files"]), data["stats"],
                   data["inputs"])


def write_batch_result(path: str, files, stats, inputs) -> BatchResult:
    result = BatchResult(tuple(sorted((str(p), int(n)) for p, n in files)), stats, inputs)
    write_atomically(path, result.to_json().encode(), path.rsplit("/", 1)[0] + "/_tmp")
    return result


def read_batch_result(path: str) -> BatchResult | None:
    """The result at ``path``, or None when there is none (the batch did not finish)."""
    if not FileSystems.exists(path):
        return None
    with FileSystems.open(path) as f:
        return BatchResult.from_json(f.read())


def merge_inputs(folded: list[dict[str, Any]]) -> dict[str, Any]:
    """``fold_counts`` dicts of several batches summed into one, in ``fold_counts``'s order
    (readers sorted, the counts in their order, the reasons in ``skipped``/``rejected`` sorted)."""
    out: dict[str, Any] = {}
    for one in folded:
        for reader, counts in one.items():
            _add(out.setdefault(reader, {}), counts)
    return {reader: {k: dict(sorted(v.items())) if isinstance(v, dict) else v
                     for k, v in counts.items()} for reader, counts in sorted(out.items())}


def _add(into: dict[str, Any], counts: dict[str, Any]) -> None:
    for key, value in counts.items():
        if isinstance(value, dict):
            _add(into.setdefault(key, {}), value)
        else:
            into[key] = into.get(key, 0) + value


__all__ = ["BatchResult", "merge_inputs", "read_batch_result", "write_batch_result"]
