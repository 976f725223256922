"""Settings of ``m6 crawl urls`` (issue 14.3): one frozen dataclass around the shared
``FetchConfig`` (the same user agent, per-host delay, timeouts, byte cap and ``allow_addresses``
the image download of ``m6 corpus`` uses), written to ``DIR/config.json``.

The crawl's own defaults differ from the image download's where politeness asks for it: one
request per host per second (Heritrix's and Scrapy's usual floor; a robots.txt ``Crawl-delay``
above it wins, up to ``max_crawl_delay_s``), any content type, one retry, and 64 hosts crawled
side by side per worker (``fetch.threads``; one thread per host, so never two connections to one
host).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from corpus.fetch.config import FetchConfig
from schemas.config import from_dict

# The README asks every user to put a real contact here (--user-agent): site operators use it.
DEFAULT_USER_AGENT = ("m6-crawl/0.1 (+https://example.org/CHANGE-ME-to-your-project-page; "
                      "contact: CHANGE-ME@example.org)")


def crawl_fetch_defaults() -> FetchConfig:
    return FetchConfig(per_host_delay_s=1.0, require_image_type=False, retries=1,
                       max_bytes=5_000_000, user_agent=DEFAULT_USER_AGENT, threads=64,
                       total_timeout_s=60.0)


@dataclass(frozen=True, kw_only=True)
class CrawlConfig:
    """How ``m6 crawl urls`` crawls."""

    fetch: FetchConfig = field(default_factory=crawl_fetch_defaults)
    depth: int = 0  # link levels followed from the seeds, within the seeds' registered domains
    max_pages_per_host: int = 10_000  # requests for pages per origin over all runs into DIR
    max_crawl_delay_s: float = 30.0  # a robots Crawl-delay above this is capped (and logged)
    robots_max_age_s: float = 86_400.0  # cached robots.txt reused this long (RFC 9309: 24 h)
    source: str = "webpage"  # the `source` m6 corpus gives these pages (manifest.json)
    max_links_per_page: int = 1000

    def __post_init__(self) -> None:
        if self.depth < 0:
            raise ValueError(f"crawl.depth must be >= 0, got {self.depth}")
        if self.max_pages_per_host < 1:
            raise ValueError(f"crawl.max_pages_per_host must be >= 1, got "
                             f"{self.max_pages_per_host}")
        if not self.source:
            raise ValueError("crawl.source must not be empty")

    @property
    def max_rounds(self) -> int:
        """Rounds a run may take: one per depth level, plus one per cross-host redirect hop."""
        return (self.depth + 1) * (self.fetch.max_redirects + 1)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CrawlConfig:
        return from_dict(cls, data)
