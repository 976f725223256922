"""``stats.json`` as types: the Table 1 figures of a corpus run and its rejected counts.

``corpus/stats.py`` computes the figures (a combinable fold over the rows); this module owns the
file's shape, so the writer (``pipelines/sink.py``) and the readers (``m6 inspect``, ``m6 report``)
agree on it and a malformed or foreign file is refused with one line that names the field, never
a ``KeyError`` three calls later. ``CorpusStats.from_dict(d).to_dict() == d`` for every file m6
writes, and ``to_json`` gives the bytes the pipeline has always written (keys sorted, two-space
indent, UTF-8 characters as they are), so a round trip keeps ``stats.json`` byte-identical.

The figures follow Table 1 of the M6 paper (images, tokens, passages, average length, image size,
text size) per ``(kind, source)``, with totals per kind and overall (``"all"``). A top-level
section this module does not type yet (one a newer fold adds) is carried through as it is, in
``extra``, so a round trip never drops figures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

STATS_FORMAT = "m6.stats"
STATS_VERSION = 1


class StatsError(ValueError):
    """A file that is not m6 statistics of this version (one line, names the field)."""


@dataclass(frozen=True)
class Figures:
    """Counters of one ``(kind, source)``, of one kind, or of everything."""

    passages: int
    tokens: int
    chars: int
    text_bytes: int
    images: int
    image_bytes: int
    avg_length: float  # tokens per passage, as Table 1
    avg_chars: float

    @classmethod
    def from_dict(cls, d: Any, where: str) -> Figures:
        if not isinstance(d, dict):
            raise StatsError(f"{where} is not an object")
        values = {}
        for f in fields(cls):
            v = d.get(f.name)
            ok = (isinstance(v, (int, float)) if f.type == "float" else type(v) is int)
            if not ok or isinstance(v, bool):
                raise StatsError(f"{where}.{f.name} is {_shown(v)}, not a number")
            values[f.name] = v
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class OutputFigures:
    """One row of Table 1: a kind (``text`` or ``image_text``), its modality label, a source."""

    kind: str
    modality: str
    source: str
    figures: Figures

    @classmethod
    def from_dict(cls, d: Any, where: str) -> OutputFigures:
        if not isinstance(d, dict):
            raise StatsError(f"{where} is not an object")
        kind, modality, source = (_str(d, k, where) for k in ("kind", "modality", "source"))
        return cls(kind, modality, source, Figures.from_dict(d, where))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "modality": self.modality, "source": self.source,
                **self.figures.to_dict()}


@dataclass(frozen=True)
class RejectedCount:
    """Records one stage dropped for one reason, in all and per source."""

    stage: str
    reason: str
    count: int
    by_source: dict[str, int]

    @classmethod
    def from_dict(cls, d: Any, where: str) -> RejectedCount:
        if not isinstance(d, dict):
            raise StatsError(f"{where} is not an object")
        return cls(_str(d, "stage", where), _str(d, "reason", where), _int(d, "count", where),
                   _counts(d.get("by_source"), f"{where}.by_source"))

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "reason": self.reason, "count": self.count,
                "by_source": dict(self.by_source)}


@dataclass(frozen=True)
class CorpusStats:
    """The content of ``stats.json``."""

    outputs: tuple[OutputFigures, ...]
    totals: dict[str, Figures]  # "text", "image_text" (those present) and "all"
    rejected: tuple[RejectedCount, ...]
    rejected_total: int
    rejected_by_source: dict[str, int]
    version: int = STATS_VERSION
    extra: dict[str, Any] = field(default_factory=dict)  # untyped top-level sections, as read

    @classmethod
    def from_dict(cls, d: Any) -> CorpusStats:
        if not isinstance(d, dict) or d.get("format") != STATS_FORMAT:
            raise StatsError(f'not an m6 statistics file (expected "format": "{STATS_FORMAT}")')
        if d.get("version") != STATS_VERSION:
            raise StatsError(f"statistics version {_shown(d.get('version'))}; this m6 reads "
                             f"version {STATS_VERSION}")
        for key in ("outputs", "rejected"):
            if not isinstance(d.get(key), list):
                raise StatsError(f"{key} is {_shown(d.get(key))}, not a list")
        if not isinstance(d.get("totals"), dict):
            raise StatsError(f"totals is {_shown(d.get('totals'))}, not an object")
        return cls(
            outputs=tuple(OutputFigures.from_dict(o, f"outputs[{i}]")
                          for i, o in enumerate(d["outputs"])),
            totals={str(k): Figures.from_dict(v, f"totals.{k}") for k, v in d["totals"].items()},
            rejected=tuple(RejectedCount.from_dict(r, f"rejected[{i}]")
                           for i, r in enumerate(d["rejected"])),
            rejected_total=_int(d, "rejected_total", "stats"),
            rejected_by_source=_counts(d.get("rejected_by_source"), "rejected_by_source"),
            version=d["version"],
            extra={k: v for k, v in d.items() if k not in _TYPED},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": STATS_FORMAT,
            "version": self.version,
            "outputs": [o.to_dict() for o in self.outputs],
            "totals": {k: v.to_dict() for k, v in self.totals.items()},
            "rejected": [r.to_dict() for r in self.rejected],
            "rejected_total": self.rejected_total,
            "rejected_by_source": dict(self.rejected_by_source),
            **self.extra,
        }

    @classmethod
    def from_json(cls, text: str | bytes) -> CorpusStats:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as e:
            raise StatsError(f"not JSON ({type(e).__name__})") from None
        return cls.from_dict(data)

    def to_json(self) -> str:
        """The bytes of ``stats.json`` (as the pipeline has always written them)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=True)


_TYPED = frozenset(("format", "version", "outputs", "totals", "rejected", "rejected_total",
                    "rejected_by_source"))


def _shown(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _str(d: dict, key: str, where: str) -> str:
    v = d.get(key)
    if not isinstance(v, str):
        raise StatsError(f"{where}.{key} is {_shown(v)}, not a string")
    return v


def _int(d: dict, key: str, where: str) -> int:
    v = d.get(key)
    if type(v) is not int:
        raise StatsError(f"{where}.{key} is {_shown(v)}, not an integer")
    return v


def _counts(d: Any, where: str) -> dict[str, int]:
    if not isinstance(d, dict) or not all(type(v) is int for v in d.values()):
        raise StatsError(f"{where} is not an object of integer counts")
    return dict(d)
