"""One host's share of a crawl round (issue 14.3): robots.txt first, then its URLs one at a time,
spaced by the host's delay, each outcome a fetch-log row and each answer WARC records.

The caller (one Beam worker) owns the host for the round, so "at most one connection per host and
at least ``delay`` seconds between two requests to it" holds across all workers: the requests of
one host are made by one thread, one after the other, through a ``HostGate`` that spaces them by
``max(--delay, robots Crawl-delay)`` (retries included) and starts no earlier than the host's
last request of an earlier round or run plus that delay.

Redirects are not followed by the client: each hop comes back here, is logged (``redirect`` with
its normalised ``location``) and stored, and its target is checked like any URL. A target on the
same host is fetched next, in this host's turn (robots.txt and the egress policy checked again);
a target on another host is left in the log for the driver, which hands it to that host's owner
in the next round. ``hops`` counts the redirects that led to a URL; beyond the fetch config's
``max_redirects`` the URL is logged ``too_many_redirects`` without a request, and a loop back to
a URL already fetched this round is logged ``redirect_loop``.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from corpus.crawl.config import CrawlConfig
from corpus.crawl.fetch_log import log_row
from corpus.crawl.links import page_links
from corpus.crawl.robots import (
    MAX_ROBOTS_BYTES,
    Robots,
    RobotsVerdict,
    load_cached,
    save_cached,
)
from corpus.crawl.urls import normalise_url, origin
from corpus.crawl.warc_out import WarcOutput
from corpus.fetch.client import Fetcher, FetchResult


@dataclass(frozen=True)
class Item:
    """A URL to crawl: normalised, with its link depth and the redirects that led to it."""

    url: str
    depth: int = 0
    hops: int = 0


@dataclass(frozen=True)
class HostState:
    """What earlier rounds and runs left for a host: pages still allowed, last request time."""

    budget: int
    last_request_at: float | None = None


def gate_key(url: str) -> str:
    """The ``Fetcher``'s politeness key (``host:port``) of ``url``."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{(parts.hostname or '').lower()}:{port}"


class HostCrawler:
    """Crawls the hosts of one worker's bucket; thread-safe across hosts (one thread a host)."""

    def __init__(self, cfg: CrawlConfig, folder: Path, fetcher: Fetcher, warc: WarcOutput,
                 domains: frozenset[str], run_id: str):
        self.cfg = cfg
        self.folder = Path(folder)
        self.fetcher = fetcher
        self.warc = warc
        self.domains = domains
        self.run_id = run_id
        # robots.txt: the RFC's 500 KiB are parsed, any type, never "opted out"; the same gate
        # and egress policy as the pages, so its request counts in the host's spacing
        robots_cfg = dataclasses.replace(cfg.fetch, max_bytes=MAX_ROBOTS_BYTES,
                                         require_image_type=False, honour_noai=False)
        self._robots_fetcher = Fetcher(robots_cfg, gate=fetcher.gate, policy=fetcher.policy)

    # -- robots.txt ---------------------------------------------------------------------------

    def robots(self, host: str) -> tuple[Robots, FetchResult | None]:
        cached = load_cached(self.folder, host, self.cfg.robots_max_age_s)
        if cached is not None:
            return Robots(cached, self.cfg.fetch.user_agent), None
        r = self._robots_fetcher.fetch(host + "/robots.txt")
        verdict = RobotsVerdict.from_fetch(host, r.status, r.http_status, r.body, r.detail)
        save_cached(self.folder, verdict)
        return Robots(verdict, self.cfg.fetch.user_agent), r

    # -- one host -----------------------------------------------------------------------------

    def crawl(self, host: str, items: Iterable[Item], state: HostState) -> list[dict[str, Any]]:
        """Crawl ``items`` (all of ``host``); returns their fetch-log rows."""
        items = sorted(items, key=lambda i: (i.hops, i.depth, i.url))
        gate = self.fetcher.gate
        key = gate_key(items[0].url) if items else ""
        delay = self.cfg.fetch.per_host_delay_s
        if state.last_request_at is not None:
            gate.not_before(key, state.last_request_at + delay - time.time())
        rows: list[dict[str, Any]] = []
        robots, robots_fetch = self.robots(host)
        blocked = robots.verdict.blocking_status
        if blocked is not None:
            detail = robots.verdict.detail
            return [self._row(i, host, blocked, detail=detail) for i in items]
        crawl_delay = robots.crawl_delay()
        if crawl_delay > delay:
            delay = min(crawl_delay, self.cfg.max_crawl_delay_s)
            gate.set_delay(key, delay)
        budget = state.budget
        queue = deque(items)
        fetched: set[str] = set()
        while queue:
            item = queue.popleft()
            if item.url in fetched:
                rows.append(self._row(item, host, "redirect_loop",
                                      detail="already fetched in this round"))
                continue
            if item.hops > self.cfg.fetch.max_redirects:
                rows.append(self._row(item, host, "too_many_redirects",
                                      detail=f"more than {self.cfg.fetch.max_redirects}"))
                continue
            if not robots.allowed(item.url):
                rows.append(self._row(item, host, "robots_disallowed"))
                continue
            if budget <= 0:
                rows.append(self._row(item, host, "page_cap",
                                      detail=f"{self.cfg.max_pages_per_host} pages per host"))
                continue
            budget -= 1
            fetched.add(item.url)
            row, target = self._fetch(item, host)
            rows.append(row)
            if target is not None and origin(target) == host:
                queue.appendleft(Item(target, item.depth, item.hops + 1))
        return rows

    def _fetch(self, item: Item, host: str) -> tuple[dict[str, Any], str | None]:
        started = time.time()
        r = self.fetcher.fetch(item.url, follow_redirects=False)
        row = self._row(item, host, r.status, http_status=r.http_status, attempts=r.attempts,
                        fetched_at=r.requested_at or started, elapsed_s=r.elapsed_s,
                        detail=r.detail, bytes=len(r.body or b""))
        target = None
        if r.status == "redirect":
            target = normalise_url(r.location or "")
            row["location"] = target
            if target is None:
                row["status"] = "blocked_scheme"
                row["detail"] = f"redirect to {str(r.location)[:200]!r}"
        links: list[str] = []
        if (r.status == "ok" and item.depth < self.cfg.depth
                and "html" in (r.content_type or "").lower()):
            links = page_links(r.body or b"", item.url, self.domains,
                               self.cfg.max_links_per_page)
            row["links"] = links
        if r.status in ("ok", "redirect") and r.http_status is not None:
            offset, length = self.warc.write_exchange(
                item.url,
                request_line=f"GET {r.request_target} {r.http_version}",
                request_headers=r.request_headers or [], http_version=r.http_version or "HTTP/1.1",
                status=r.http_status, reason=r.reason or "", headers=r.headers or [],
                body=r.body or b"", peer=r.peer,
                metadata={"fetchTimeMs": str(round(r.elapsed_s * 1000)),
                          "depth": str(item.depth), "hops": str(item.hops),
                          "outlinks": str(len(links)), "crawler": "m6 crawl urls"})
            row.update(warc_file=self.warc.relative, warc_offset=offset, warc_length=length)
        return row, target

    def _row(self, item: Item, host: str, status: str, **values: Any) -> dict[str, Any]:
        values.setdefault("attempts", 0)
        values.setdefault("bytes", 0)
        values.setdefault("fetched_at", time.time())
        return log_row(url=item.url, host=host, status=status, depth=item.depth, hops=item.hops,
                       run_id=self.run_id, **values)
