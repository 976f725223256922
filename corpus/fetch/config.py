"""How m6 fetches URLs that come from data: one frozen dataclass for the image download of
``m6 corpus`` (``CorpusConfig.fetch``, formerly ``images.fetch``) and for ``m6 crawl``
(``CrawlConfig.fetch``), so user agent, per-host delay, timeouts, byte caps and the egress
policy's ``allow_addresses`` are set once, the same way, for both (issue 14.3).

The defaults follow what img2dataset users run with (a polite user agent, a few seconds of
timeout, a couple of retries, a byte cap well above any useful image) and what a crawl operator
expects of a fetcher (a delay between two requests to the same host, honouring ``Retry-After``
and ``X-Robots-Tag: noai``). Every value is a plain number or string so the config serialises to
JSON beside the output (STYLE.md, "Config and CLI").
"""

from __future__ import annotations

from dataclasses import dataclass

from corpus.fetch.egress import parse_allow


@dataclass(frozen=True, kw_only=True)
class FetchConfig:
    """How URLs from data are fetched: images missing from the crawl, crawled pages."""

    threads: int = 16  # concurrent downloads per worker (I/O bound, so threads)
    connect_timeout_s: float = 5.0  # TCP + TLS handshake
    read_timeout_s: float = 10.0  # longest silence between two received chunks
    total_timeout_s: float = 30.0  # whole URL incl. redirects: stops slow-drip servers
    retries: int = 2  # extra attempts after a timeout, a connection error, 429 or 5xx
    backoff_s: float = 0.5  # first retry waits this, doubling each time (plus jitter)
    backoff_max_s: float = 8.0  # cap of one wait, also of a server's Retry-After
    max_bytes: int = 10_000_000  # larger bodies are not read past this: status too_large
    max_redirects: int = 5
    user_agent: str = "m6-corpus/0.1 (image-text research crawler; +https://github.com/m6)"
    per_host_delay_s: float = 0.5  # at least this between two requests to the same host
    require_image_type: bool = True  # a Content-Type other than image/* -> status not_image
    honour_noai: bool = True  # X-Robots-Tag noai / noimageai / noindex -> status opted_out
    batch_size: int = 64  # URLs handed to one worker's thread pool at a time (Beam batching)
    # Addresses or CIDR networks the egress policy opens although they are not public
    # (``--allow-address``, corpus/fetch/egress.py): intranets, local test servers.
    allow_addresses: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.threads < 1:
            raise ValueError(f"fetch.threads must be >= 1, got {self.threads}")
        if self.retries < 0:
            raise ValueError(f"fetch.retries must be >= 0, got {self.retries}")
        for name in ("connect_timeout_s", "read_timeout_s", "total_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"fetch.{name} must be > 0, got {getattr(self, name)}")
        if self.max_bytes < 1:
            raise ValueError(f"fetch.max_bytes must be >= 1, got {self.max_bytes}")
        if self.per_host_delay_s < 0:
            raise ValueError(f"fetch.per_host_delay_s must be >= 0, got {self.per_host_delay_s}")
        parse_allow(self.allow_addresses)  # a bad entry fails here, naming it
