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
from dataclasses import dataclass, field
from typing import Any

from corpus.budget import BudgetConfig
from corpus.clean.config import CleanConfig
from corpus.dedup.config import DedupConfig
from corpus.extract.html import ExtractConfig
from corpus.images.config import ImageConfig
from corpus.parse.dumps import DumpConfig
from corpus.parse.warc import ParseConfig
from corpus.quality.config import QualityConfig
from corpus.shards import ShardConfig
from schemas.config import apply_overrides, from_dict

__all__ = ["CorpusConfig", "RunConfig", "apply_overrides"]


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
    parse: ParseConfig = field(default_factory=ParseConfig)  # the crawl (WARC/ARC) reader
    dumps: DumpConfig = field(default_factory=DumpConfig)  # the JSON-lines readers
    budget: BudgetConfig = field(default_factory=BudgetConfig)  # per-record limits
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
        return from_dict(cls, data)

    @classmethod
    def from_json(cls, text: str) -> CorpusConfig:
        return cls.from_dict(json.loads(text))
