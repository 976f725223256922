"""The typed configuration of a corpus run: one frozen dataclass per part, nested in
``CorpusConfig``.

Every threshold of every stage lives here with its documented default (in the part's own module),
so a run is described by one object that is written as ``config.json`` next to the output and can
be read back (``CorpusConfig.from_json``). Users change values from the command line with
``--set part.field=value`` (``apply_overrides``), or pass a JSON file with ``--config``; no
environment variables, no untyped dicts (STYLE.md, "Config and CLI"). The mechanism (JSON round
trip, typed overrides, moved settings) is ``schemas/config.py``, shared with the trainer.

Each part's on/off switch lives in that part: ``dedup.enabled``, ``quality.enabled``,
``images.enabled``, and ``quality.language.enabled`` etc. for single filters.

``config.json`` carries a ``version``. Version 1 (no ``version`` key) kept the part switches in
``run`` (``run.dedup``, ``run.quality``, ``run.images``) and the filter switches as
``quality.use_language`` etc.; those names are still read, in files and in ``--set``, with a
``FutureWarning`` naming the new one, until version ``MOVED_UNTIL``. A file of a newer version
than this code knows is an error, not a guess. ``images.fetch`` moved to the top-level ``fetch``
(one fetch configuration for the image download and ``m6 crawl``) and is read the same way.
A setting that no longer exists (``DROPPED``: ``dedup.cc_rounds``) is read from an older file
with a ``FutureWarning`` saying why, and ignored.
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
from corpus.fetch.config import FetchConfig
from corpus.images.config import ImageConfig
from corpus.parse.dumps import DumpConfig
from corpus.parse.warc import ParseConfig
from corpus.quality.config import QualityConfig
from corpus.shards import ShardConfig
from schemas.config import apply_overrides as _apply_overrides
from schemas.config import drop_keys, from_dict, move_keys, move_override
from schemas.version import with_version

__all__ = ["CONFIG_VERSION", "DROPPED", "MOVED", "CorpusConfig", "RunConfig", "apply_overrides"]

CONFIG_VERSION = 2
# Settings moved in version 2: old dotted name -> new dotted name.
MOVED = {
    "run.dedup": "dedup.enabled",
    "run.quality": "quality.enabled",
    "run.images": "images.enabled",
    "quality.use_language": "quality.language.enabled",
    "quality.use_badwords": "quality.badwords.enabled",
    "quality.use_repetition": "quality.repetition.enabled",
    "images.fetch": "fetch",  # one fetch configuration for image download and `m6 crawl`
}
MOVED_UNTIL = 3  # the version from which the old names of MOVED are no longer read
# Settings that no longer exist: read from older files with a FutureWarning saying why, and
# ignored (``--set`` of one is an unknown setting).
DROPPED = {
    "dedup.cc_rounds": "image near-duplicates are joined by union-find over all their edges in "
                       "one group, exactly, with no rounds to set (pipelines/dedup_steps.py)",
}
_MOVED_NOTE = f"the old name is read until config version {MOVED_UNTIL}"


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Settings of the run as a whole (the parts' switches are in the parts)."""

    crawl_source: str = "common_crawl"  # source of pages read from WARC/ARC files
    dedup_against: tuple[str, ...] = ()  # earlier outputs whose documents count as seen
    # Input records (pages, lines) per batch: a larger input runs as batches of files, one
    # pipeline each, deduplicated against the batches before them, so memory holds one batch
    # (corpus/batch_plan.py; README "Memory: large inputs run in batches"); 0: the whole input
    # in one pipeline. 100,000 by measurement (200,000 real-text pages, bench/scale.py
    # --verify): 2 batches, 2.46 GB peak, 281 s, Table 1 within 0.09% of one pipeline (4.12 GB,
    # 263 s); 50,000 (4 batches): 1.71 GB, 337 s, tokens +0.16%, because a near-duplicate chain
    # closed by a later batch cannot take back a document an earlier batch kept.
    batch_records: int = 100_000


@dataclass(frozen=True, kw_only=True)
class CorpusConfig:
    version: int = CONFIG_VERSION  # of this layout; see the module docstring
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
    # how URLs found in data are downloaded (images; the same settings as `m6 crawl`)
    fetch: FetchConfig = field(default_factory=FetchConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """The ``config.json`` text: every setting, and the ``m6_version`` that wrote it."""
        return json.dumps(with_version(self.to_dict()), ensure_ascii=False, indent=2,
                          sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "config") -> CorpusConfig:
        """Read a config dict of this version or an older one (moved settings are moved, with a
        ``FutureWarning``); the result is always of ``CONFIG_VERSION``."""
        if isinstance(data, dict):
            version = data.get("version", 1)
            if isinstance(version, bool) or not isinstance(version, int) or version < 1:
                raise ValueError(f"{where}: version must be a positive integer, got {version!r}")
            if version > CONFIG_VERSION:
                raise ValueError(f"{where}: config version {version} is newer than this m6 "
                                 f"reads ({CONFIG_VERSION}); upgrade m6 or write the config "
                                 "again with this one")
            data = drop_keys(move_keys(data, MOVED, where, _MOVED_NOTE), DROPPED, where)
            data = {**data, "version": CONFIG_VERSION}
        return from_dict(cls, data)

    @classmethod
    def from_json(cls, text: str, where: str = "config") -> CorpusConfig:
        return cls.from_dict(json.loads(text), where)


def apply_overrides(cfg: CorpusConfig, overrides: list[str]) -> CorpusConfig:
    """``schemas.config.apply_overrides`` that also takes the moved names of ``MOVED``."""
    return _apply_overrides(cfg, [move_override(o, MOVED, _MOVED_NOTE) for o in overrides])
