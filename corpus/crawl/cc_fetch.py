"""Fetch one Common Crawl record by its offset and length, and check it is the record asked for.

Each selected index row is one ``Range: bytes=offset-(offset+length-1)`` request against
``base_url + warc_filename`` (cc-pyspark's ``CCIndexWarcSparkJob`` does the same with boto3). Common
Crawl's WARC files are gzip per record, so the range is exactly one gzip member; it is verified
before it is kept (``verify_member``): it inflates, it is one member with nothing after it, it is
one WARC ``response`` record (a capture's ``request`` and ``metadata`` records carry the same
URI) whose ``Content-Length`` accounts for every byte, and its ``WARC-Target-URI`` is the row's
``url``. Anything else is ``range_mismatch`` with a detail saying which check failed:
a wrong offset, a stale index or a server that answers another range never becomes a silently
wrong record. The member's bytes are kept as the server sent them, so the output WARC files hold
the source's members byte for byte.

Statuses (the ``status`` of the fetch log): ``ok``; ``http_<code>`` (a final answer other than 206,
e.g. ``http_404``, ``http_416``, or ``http_503`` when retries ran out); ``range_ignored`` (a 200:
the server sent the whole file, which is not read); ``truncated_body`` (fewer bytes than asked);
``range_mismatch``; ``timeout``; ``connection_error``; ``dns_error``; ``not_found`` (a missing
local or bucket file); ``too_large`` (a length over ``max_record_bytes``, not fetched);
``bad_range`` (a negative offset or an empty length), ``bad_warc_filename`` (a name that would
leave the base URL: ``..``, absolute, a scheme or query), ``blocked_address`` (the egress policy, ``corpus.fetch.egress``: an index row is data, and its
WARC file name could point a request anywhere once joined to a base URL). 429, 5xx, timeouts, connection errors and truncated bodies
are retried with exponential backoff and up to 50% jitter, waiting at least a server's
``Retry-After`` (capped at ``backoff_max_s``), as Common Crawl asks of clients that get 503 "Slow
Down". Every request first waits its turn at the worker's rate gate (``corpus.fetch.politeness``
``HostGate`` with one key: the job's ``max_requests_per_second`` divided among the workers).
"""

from __future__ import annotations

import random
import re
import time
import zlib
from dataclasses import dataclass
from urllib.parse import urlsplit

import fsspec

from corpus.crawl.cc_config import RangeFetchConfig
from corpus.fetch.client import Fetcher
from corpus.fetch.config import FetchConfig
from corpus.fetch.egress import EgressPolicy
from corpus.fetch.politeness import HostGate

RETRYABLE = frozenset({"timeout", "connection_error", "truncated_body", "http_429", "http_500",
                       "http_502", "http_503", "http_504"})
_URI = re.compile(rb"^WARC-Target-URI:[ \t]*<?([^\r\n>]*?)>?[ \t]*\r?$", re.IGNORECASE | re.M)
_TYPE = re.compile(rb"^WARC-Type:[ \t]*(\S+)[ \t]*\r?$", re.IGNORECASE | re.M)
_MIN_SLEEP_S = 0.001
_LENGTH = re.compile(rb"^Content-Length:[ \t]*(\d+)[ \t]*\r?$", re.IGNORECASE | re.M)


@dataclass
class RangeResult:
    """The outcome of fetching one record."""

    status: str
    body: bytes | None = None
    http_status: int | None = None
    attempts: int = 0
    elapsed_s: float = 0.0
    detail: str | None = None
    retry_after_s: float | None = None
    started_at: float | None = None  # wall-clock seconds since the epoch, first attempt

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def record_url(base_url: str, warc_filename: str) -> str:
    """Where a WARC file of the index lives under ``base_url``."""
    return base_url.rstrip("/") + "/" + warc_filename.lstrip("/")


def bad_warc_filename(name: str) -> str | None:
    """Why an index row's ``warc_filename`` may not be joined to the base URL, or None. The
    index is data: a name that climbs out of the base (``..``), is absolute, carries a scheme,
    a query or a fragment, or control characters would make the request go elsewhere."""
    if not name or len(name) > 1024:
        return "empty or longer than 1024 characters"
    if name.startswith(("/", "\\")) or "://" in name or "\\" in name:
        return "absolute, or with a scheme or a backslash"
    if any(part in ("..", ".") for part in name.split("/")):
        return "a '.' or '..' path segment"
    if any(c in name for c in "?#%") or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return "a query, fragment, percent-escape or control character"
    return None


def verify_member(member: bytes, url: str) -> str | None:
    """None when ``member`` is exactly one gzip member holding one WARC record of ``url``; else
    what is wrong (the detail of a ``range_mismatch``)."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        plain = d.decompress(member)
    except zlib.error as e:
        return f"not a gzip member at this offset ({e})"
    if not d.eof:
        return "the gzip member does not end within the range"
    if d.unused_data:
        return f"{len(d.unused_data)} bytes after the gzip member: the range holds more than one"
    if not plain.startswith(b"WARC/"):
        return "the member is not a WARC record"
    head_end = plain.find(b"\r\n\r\n")
    if head_end < 0:
        return "the WARC header has no end"
    head = plain[:head_end]
    m = _LENGTH.search(head)
    if m is None:
        return "the WARC header has no Content-Length"
    block_end = head_end + 4 + int(m.group(1))
    if len(plain) < block_end or plain[block_end:].strip(b"\r\n"):
        return (f"the member holds {len(plain)} bytes, its WARC record {block_end} and its "
                "trailer: not one record")
    t = _TYPE.search(head)
    kind = t.group(1).decode("ascii", "replace").lower() if t else None
    if kind != "response":  # the request and metadata records of a capture share its URI
        return f"a {kind or 'untyped'} record, not the response the index points at"
    u = _URI.search(head)
    found = u.group(1).decode("utf-8", "replace") if u else None
    if found != url:
        return f"WARC-Target-URI is {found!r}, the index row says {url!r}"
    return None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value.strip())) if value else None
    except ValueError:
        return None  # an HTTP date: no hint


def http_config(cfg: RangeFetchConfig) -> FetchConfig:
    """The shared HTTP client's settings for range requests. Retries stay here (``retries=0``
    there) so every attempt waits its turn at the rate gate; the per-host delay is the gate's."""
    return FetchConfig(threads=cfg.concurrency, connect_timeout_s=cfg.connect_timeout_s,
                       read_timeout_s=cfg.read_timeout_s, total_timeout_s=cfg.total_timeout_s,
                       retries=0, max_bytes=cfg.max_record_bytes + 1, user_agent=cfg.user_agent,
                       per_host_delay_s=0.0, require_image_type=False, honour_noai=False,
                       allow_addresses=cfg.allow_addresses)


def http_range_get(fetcher: Fetcher, url: str, start: int, length: int) -> RangeResult:
    """One HTTP range request through m6's HTTP client and its egress policy (the address
    actually connected to is checked, and again after a redirect): ``ok`` with the bytes, or a
    status. Never raises for a network or server problem."""
    res = fetcher.fetch(url, headers={"Range": f"bytes={start}-{start + length - 1}"})
    status, detail = res.status, res.detail
    if status == "ok" and res.http_status == 200:
        return RangeResult("range_ignored", http_status=200,
                           detail="the server answered 200 with the whole file, not 206")
    if status == "too_large":
        return RangeResult("range_mismatch", http_status=res.http_status,
                           detail=f"the server sent more than the {length} bytes asked for")
    if status == "connection_error" and "IncompleteRead" in (detail or ""):
        return RangeResult("truncated_body", http_status=res.http_status,
                           detail=f"the connection closed early: {detail}")
    if status != "ok":
        return RangeResult(status, http_status=res.http_status, detail=detail,
                           retry_after_s=res.retry_after_s)
    body = res.body or b""
    if len(body) < length:
        return RangeResult("truncated_body", http_status=206,
                           detail=f"{len(body)} of {length} bytes")
    if len(body) > length:
        return RangeResult("range_mismatch", http_status=206,
                           detail=f"the server sent {len(body)} bytes, {length} were asked for")
    return RangeResult("ok", body=body, http_status=206)


def fsspec_range_get(url: str, start: int, length: int) -> RangeResult:
    """The same range read from a local path or an fsspec URL (``s3://commoncrawl/``)."""
    try:
        with fsspec.open(url, "rb") as f:
            f.seek(start)
            body = f.read(length)
    except FileNotFoundError as e:
        return RangeResult("not_found", detail=str(e))
    except TimeoutError as e:
        return RangeResult("timeout", detail=str(e))
    except OSError as e:
        return RangeResult("connection_error", detail=f"{type(e).__name__}: {e}")
    if len(body) < length:
        return RangeResult("truncated_body", detail=f"{len(body)} of {length} bytes")
    return RangeResult("ok", body=body)


class RangeFetcher:
    """Fetches and verifies records under one ``RangeFetchConfig``. Thread-safe; one per worker
    (its rate gate is the worker's share of the job's request rate)."""

    def __init__(self, cfg: RangeFetchConfig, gate: HostGate | None = None,
                 policy: EgressPolicy | None = None, sleep=time.sleep):
        self.cfg = cfg
        self.gate = gate or HostGate(1.0 / cfg.worker_rate)
        self.http = Fetcher(http_config(cfg), policy=policy)
        self._sleep = sleep

    def _once(self, url: str, start: int, length: int) -> RangeResult:
        wait = self.gate.reserve("job")
        if wait > _MIN_SLEEP_S:  # a shorter sleep costs a scheduler round trip, ~1 ms on a busy
            self._sleep(wait)    # machine; the reserved slots keep the average rate either way
        if urlsplit(url).scheme.lower() in ("http", "https"):
            return http_range_get(self.http, url, start, length)
        return fsspec_range_get(url, start, length)

    def fetch(self, warc_filename: str, offset: int, length: int, url: str) -> RangeResult:
        """Fetch the record an index row points at, with retries, and verify it."""
        cfg = self.cfg
        t0, started = time.monotonic(), time.time()
        if length > cfg.max_record_bytes or length < 1 or offset < 0:
            return RangeResult("too_large" if length > cfg.max_record_bytes else "bad_range",
                               detail=f"offset {offset}, length {length}", started_at=started)
        problem = bad_warc_filename(warc_filename)
        if problem is not None:
            return RangeResult("bad_warc_filename", detail=f"{warc_filename[:200]!r}: {problem}",
                               started_at=started)
        where = record_url(cfg.base_url, warc_filename)
        result = RangeResult("error")
        for attempt in range(cfg.retries + 1):
            result = self._once(where, offset, length)
            result.attempts = attempt + 1
            if result.status not in RETRYABLE or attempt == cfg.retries:
                break
            wait = min(cfg.backoff_s * 2 ** attempt, cfg.backoff_max_s)
            wait *= 1.0 + 0.5 * random.random()
            if result.retry_after_s is not None:
                wait = max(wait, min(result.retry_after_s, cfg.backoff_max_s))
            self._sleep(wait)
        if result.ok:
            problem = verify_member(result.body, url)
            if problem is not None:
                result = RangeResult("range_mismatch", http_status=result.http_status,
                                     attempts=result.attempts, detail=problem)
        result.elapsed_s = time.monotonic() - t0
        result.started_at = started
        return result
