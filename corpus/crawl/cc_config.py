"""Settings of ``m6 crawl cc``: what to select from Common Crawl's URL index and how to fetch it.

One frozen dataclass per part (``schemas.config``), written as ``DIR/config.json`` beside the
crawl. The selection part is what decides *which* records a crawl holds, so a rerun into the same
folder must use the same one (``pipelines/crawl_cc.py`` refuses another); the fetch part may change
between runs (a lower rate, more retries).

Defaults follow Common Crawl's own guidance for its HTTPS endpoint and S3 bucket ("Get Started",
commoncrawl.org/get-started, and its 2023 notes on 503 "Slow Down" answers): few connections,
a modest request rate, exponential backoff with jitter on 503 and 429, a user agent that says who
is asking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from corpus.crawl.config import DEFAULT_USER_AGENT
from schemas.config import from_dict, to_dict

DEFAULT_BASE_URL = "https://data.commoncrawl.org/"
__all__ = ["DEFAULT_BASE_URL", "DEFAULT_USER_AGENT", "CcCrawlConfig", "RangeFetchConfig",
           "SelectConfig"]
_LANGUAGE = re.compile(r"^[a-z]{3}$")


@dataclass(frozen=True, kw_only=True)
class SelectConfig:
    """Which index rows become requests (issue 14 point 1)."""

    # ISO-639-3 codes as in the index's content_languages ("zho,eng"); a row is kept when its
    # first (primary) language is one of these, or any of its languages with any_language.
    languages: tuple[str, ...] = ("zho",)
    any_language: bool = False
    mime: tuple[str, ...] = ("text/html",)  # content_mime_detected
    fetch_status: int = 200
    subset: str = "warc"  # the index's other subsets point at robots.txt and 404 captures
    domains_file: str | None = None  # allow-list: registered domains or host names, one a line
    exclude_domains_file: str | None = None
    sample: float = 1.0  # keep a URL when hash(url) falls in this fraction (deterministic)
    limit: int | None = None  # at most this many records (the lowest URL hashes, so uniform)

    def __post_init__(self) -> None:
        bad = [x for x in self.languages if not _LANGUAGE.match(x)]
        if bad or not self.languages:
            raise ValueError(f"select.languages must be ISO-639-3 codes such as 'zho', got "
                             f"{list(self.languages)!r}")
        if not 0.0 < self.sample <= 1.0:
            raise ValueError(f"select.sample must be in (0, 1], got {self.sample}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"select.limit must be >= 1, got {self.limit}")
        if not self.mime:
            raise ValueError("select.mime must name at least one MIME type")


@dataclass(frozen=True, kw_only=True)
class RangeFetchConfig:
    """How records are fetched (issue 14 point 2)."""

    base_url: str = DEFAULT_BASE_URL  # + warc_filename; https://, s3://, or a local folder
    max_requests_per_second: float = 10.0  # the whole job, divided among the workers
    workers: int = 1  # Beam workers sharing the rate (they share no state)
    concurrency: int = 8  # connections per worker
    retries: int = 5  # extra attempts after 503, 429, 5xx, timeouts, connection errors
    backoff_s: float = 1.0  # first wait, doubling each retry, plus up to 50% jitter
    backoff_max_s: float = 60.0  # cap of one wait, also of a server's Retry-After
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    total_timeout_s: float = 300.0  # one attempt, however slowly the bytes drip
    max_record_bytes: int = 64 * 1024 * 1024  # a longer warc_record_length is not fetched
    user_agent: str = DEFAULT_USER_AGENT
    allow_addresses: tuple[str, ...] = ()  # intranet or test addresses the egress policy opens

    def __post_init__(self) -> None:
        if self.max_requests_per_second <= 0:
            raise ValueError(f"fetch.max_requests_per_second must be > 0, got "
                             f"{self.max_requests_per_second}")
        for name in ("workers", "concurrency"):
            if getattr(self, name) < 1:
                raise ValueError(f"fetch.{name} must be >= 1, got {getattr(self, name)}")
        if self.retries < 0:
            raise ValueError(f"fetch.retries must be >= 0, got {self.retries}")

    @property
    def worker_rate(self) -> float:
        """Requests per second one worker may send: the job's cap shared out evenly."""
        return self.max_requests_per_second / self.workers


@dataclass(frozen=True, kw_only=True)
class CcCrawlConfig:
    """The whole of ``m6 crawl cc``."""

    index: tuple[str, ...] = ()  # globs, fsspec globs or cc-index-table.paths.gz lists
    select: SelectConfig = field(default_factory=SelectConfig)
    fetch: RangeFetchConfig = field(default_factory=RangeFetchConfig)

    def to_dict(self) -> dict:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CcCrawlConfig:
        return from_dict(cls, data)
