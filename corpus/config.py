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
import logging
from dataclasses import dataclass, field
from typing import Any

from corpus.clean.config import CleanConfig
from corpus.dedup.config import DedupConfig
from corpus.extract.html import ExtractConfig
from corpus.fetch.config import FetchConfig
from corpus.images.config import ImageConfig
from corpus.quality.config import QualityConfig
from corpus.shards import ShardConfig
from schemas.config import apply_overrides as _apply_overrides
from schemas.config import from_dict

__all__ = ["CorpusConfig", "RunConfig", "apply_overrides"]

log = logging.getLogger("m6.config")

# images.fetch became the top-level fetch (one fetch configuration for the image download and
# `m6 crawl`); the old key is read for one version, with a warning.
_OLD_FETCH = "images.fetch"
_DEPRECATED = (f"'{_OLD_FETCH}' is deprecated and will be removed in the next version: use "
               "'fetch' (one fetch configuration for image download and 'm6 crawl')")


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
    # how URLs found in data are downloaded (images; the same settings as `m6 crawl`)
    fetch: FetchConfig = field(default_factory=FetchConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CorpusConfig:
        images = data.get("images")
        if isinstance(images, dict) and "fetch" in images:
            log.warning(_DEPRECATED)
            images = dict(images)
            old = images.pop("fetch") or {}
            data = {**data, "images": images, "fetch": {**old, **(data.get("fetch") or {})}}
        return from_dict(cls, data)

    @classmethod
    def from_json(cls, text: str) -> CorpusConfig:
        return cls.from_dict(json.loads(text))


def apply_overrides(cfg: Any, overrides: list[str]) -> Any:
    """``schemas.config.apply_overrides``, reading the deprecated ``images.fetch.X=V`` as
    ``fetch.X=V`` (with a warning) for one version."""
    moved = []
    for item in overrides:
        if item.strip().startswith(_OLD_FETCH + "."):
            log.warning(_DEPRECATED)
            item = item.strip()[len("images."):]
        moved.append(item)
    return _apply_overrides(cfg, moved)
