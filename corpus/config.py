"""The typed configuration of a corpus run: one frozen dataclass per part, nested in
``CorpusConfig``.

Every threshold of every stage lives here with its documented default (in the part's own module),
so a run is described by one object that is written as ``config.json`` next to the output and can
be read back (``CorpusConfig.from_json``). Users change values from the command line with
``--set part.field=value`` (``apply_overrides``), or pass a JSON file with ``--config``; no
environment variables, no untyped dicts (STYLE.md, "Config and CLI").
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from corpus.clean.config import CleanConfig
from corpus.dedup.config import DedupConfig
from corpus.extract.html import ExtractConfig
from corpus.images.config import ImageConfig
from corpus.quality.config import QualityConfig
from corpus.shards import ShardConfig


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Switches of the run as a whole."""

    crawl_source: str = "common_crawl"  # source of pages read from WARC/ARC files
    dedup: bool = True  # exact + near-duplicate removal (issue 3)
    quality: bool = True  # kenlm perplexity, bad words, spam, language, repetition
    images: bool = True  # mine image-text pairs from pages and listings
    dedup_against: tuple[str, ...] = ()  # earlier outputs whose documents count as seen


@dataclass(frozen=True, kw_only=True)
class CorpusConfig:
    run: RunConfig = field(default_factory=RunConfig)
    clean: CleanConfig = field(default_factory=CleanConfig)
    shards: ShardConfig = field(default_factory=ShardConfig)
    images: ImageConfig = field(default_factory=ImageConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CorpusConfig:
        return _from_dict(cls, data)

    @classmethod
    def from_json(cls, text: str) -> CorpusConfig:
        return cls.from_dict(json.loads(text))


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs = {}
    names = {f.name for f in dataclasses.fields(cls)}
    for key, value in data.items():
        if key not in names:
            raise ValueError(f"{cls.__name__} has no field {key!r} (fields: {sorted(names)})")
        kwargs[key] = _coerce(hints[key], value, f"{cls.__name__}.{key}")
    return cls(**kwargs)


def _coerce(tp: Any, value: Any, where: str) -> Any:
    """Convert a JSON or command-line value to the field's declared type."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp) and isinstance(value, dict):
        return _from_dict(tp, value)
    if origin in (typing.Union, types.UnionType):
        if value is None or value == "None":
            if type(None) in args:
                return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, where)
            except (TypeError, ValueError) as e:
                errors.append(str(e))
        raise ValueError(f"{where}: cannot read {value!r} as {tp}: {'; '.join(errors)}")
    if origin is tuple:
        if isinstance(value, str):
            value = [v for v in value.split(",") if v] if value else []
        inner = args[0] if args else str
        return tuple(_coerce(inner, v, where) for v in value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{where}: expected true/false, got {value!r}")
    if tp in (int, float, str):
        try:
            return tp(value)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: expected {tp.__name__}, got {value!r}") from None
    return value


def apply_overrides(cfg: CorpusConfig, overrides: list[str]) -> CorpusConfig:
    """Apply ``part.field=value`` overrides (e.g. ``dedup.threshold=0.7``) to ``cfg``."""
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r} is not of the form part.field=value")
        dotted, value = item.split("=", 1)
        cfg = _set_path(cfg, dotted.strip().split("."), value.strip(), dotted)
    return cfg


def _set_path(obj: Any, path: list[str], value: str, dotted: str) -> Any:
    name = path[0]
    fields = {f.name: f for f in dataclasses.fields(obj)}
    if name not in fields:
        raise ValueError(f"unknown setting {dotted!r}: {type(obj).__name__} has "
                         f"{', '.join(sorted(fields))}")
    if len(path) == 1:
        tp = typing.get_type_hints(type(obj))[name]
        return dataclasses.replace(obj, **{name: _coerce(tp, value, dotted)})
    return dataclasses.replace(obj, **{name: _set_path(getattr(obj, name), path[1:], value,
                                                       dotted)})
