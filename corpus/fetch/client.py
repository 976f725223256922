"""Download image URLs that are not in the crawl: timeouts, retries, a byte cap, politeness, and a
status for every URL.

img2dataset downloads from a ready URL list; here the URLs come from ``<img>`` tags of crawled
pages and from listings, and the download is one stage of the corpus pipeline. The client is the
standard library's ``http.client`` rather than urllib or requests because three things need the
socket itself: a connect timeout separate from the read timeout, a total deadline per URL that
also stops servers that drip one byte at a time (each read waits at most what is left), and
redirects followed by hand so a loop is reported as such instead of as a generic error.

Every URL gets a ``FetchResult`` whose ``status`` is one of:

``ok`` (body holds the bytes), ``http_<code>`` (the final non-200 answer, e.g. ``http_404``),
``timeout`` (connect, read or total deadline; ``detail`` says which), ``dns_error``,
``connection_error``, ``ssl_error``, ``too_large`` (declared or streamed beyond ``max_bytes``),
``redirect_loop``, ``too_many_redirects``, ``not_image`` (Content-Type is not ``image/*``),
``opted_out`` (``X-Robots-Tag`` says noai, noimageai or noindex), ``invalid_url``,
``blocked_scheme`` and ``blocked_address`` (the egress policy, ``egress.py``, refused the URL or a
redirect's target), ``redirect`` (only with ``follow_redirects=False``: ``location`` says where),
``error``.

Every connection goes through the egress policy: the host is resolved once, checked, and the
socket connects to the checked address (``_PinnedHTTPConnection``), for the first URL and for
every redirect hop. A crawler also gets what it needs to write WARC records: extra request headers
(``Range``, ``If-Modified-Since``), any content type (``require_image_type=False``), the response
status line and headers, the request headers sent and the peer address.

Timeouts, connection errors, 429 and 5xx are retried ``retries`` times with exponential backoff
plus jitter (a server's ``Retry-After`` is honoured up to ``backoff_max_s``); every other status is
final at once. ``fetch_many`` runs ``threads`` downloads at a time and yields results in input
order.
"""

from __future__ import annotations

import http.client
import random
import socket
import ssl
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from corpus.fetch.config import FetchConfig
from corpus.fetch.egress import EgressBlocked, EgressPolicy
from corpus.fetch.politeness import HostGate

REDIRECT_CODES = (301, 302, 303, 307, 308)
RETRYABLE = ("timeout", "connection_error", "http_429", "http_500", "http_502", "http_503",
             "http_504")
OPT_OUT_TOKENS = ("noai", "noimageai", "noindex", "none")
CHUNK = 64 * 1024
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


@dataclass
class FetchResult:
    """The outcome of downloading one URL."""

    url: str
    status: str
    body: bytes | None = None
    final_url: str | None = None
    http_status: int | None = None
    content_type: str | None = None
    attempts: int = 0
    elapsed_s: float = 0.0
    detail: str | None = None
    retry_after_s: float | None = None
    # what a WARC writer needs: the exchange as it happened on the wire (last hop)
    headers: list[tuple[str, str]] | None = None  # response headers in order
    reason: str | None = None  # the status line's reason phrase
    http_version: str | None = None  # "HTTP/1.1"
    request_headers: list[tuple[str, str]] | None = None  # what was sent
    request_target: str | None = None  # the request line's path?query
    peer: str | None = None  # the IP address connected to
    location: str | None = None  # absolute target of a redirect (status "redirect")
    requested_at: float | None = None  # wall clock when the last request's connect began

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def request_target(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, path?query)`` of ``url``, percent-encoding what is not ASCII.

    Raises ``ValueError`` for anything that is not an absolute http(s) URL."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise EgressBlocked("blocked_scheme", f"not an http(s) URL: {url[:200]!r}")
    if not parts.hostname:
        raise ValueError(f"URL has no host: {url[:200]!r}")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as e:
        raise ValueError(f"bad port in {url[:200]!r}: {e}") from None
    host = parts.hostname.encode("idna").decode("ascii")
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=_QUERY_SAFE)
    return scheme, host, port, path


def _host_header(host: str, port: int, scheme: str) -> str:
    name = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    return name if port == default else f"{name}:{port}"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None  # an HTTP date: treated as no hint


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection whose socket comes from ``EgressPolicy.connect`` (resolved once,
    checked, connected to the checked address); the Host header still names the host."""

    def __init__(self, host: str, port: int, timeout: float, policy: EgressPolicy):
        super().__init__(host, port, timeout=timeout)
        self.policy = policy
        self.peer: str | None = None

    def connect(self) -> None:
        self.sock = self.policy.connect(self.host, self.port, self.timeout)
        self.peer = self.sock.getpeername()[0]


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The TLS twin of ``_PinnedHTTPConnection``: certificate and SNI checked against the host
    name, the TCP connection made to the checked address."""

    def __init__(self, host: str, port: int, timeout: float, policy: EgressPolicy,
                 context: ssl.SSLContext):
        super().__init__(host, port, timeout=timeout, context=context)
        self.policy = policy
        self.peer: str | None = None

    def connect(self) -> None:
        sock = self.policy.connect(self.host, self.port, self.timeout)
        self.peer = sock.getpeername()[0]
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class Fetcher:
    """Downloads URLs under one ``FetchConfig``. Thread-safe; one per worker. ``policy`` defaults
    to the config's ``allow_addresses``; tests pass one with an injected resolver."""

    def __init__(self, cfg: FetchConfig, gate: HostGate | None = None,
                 policy: EgressPolicy | None = None):
        self.cfg = cfg
        self.gate = gate or HostGate(cfg.per_host_delay_s)
        self.policy = policy or EgressPolicy(allow=tuple(cfg.allow_addresses))
        self._ssl = ssl.create_default_context()

    # -- one URL ------------------------------------------------------------------------------

    def fetch(self, url: str, headers: dict[str, str] | None = None,
              follow_redirects: bool = True) -> FetchResult:
        """Download ``url`` with retries; never raises for a network or server problem.

        ``headers`` are sent in addition to (or instead of) the defaults; with a ``Range``
        header a ``206`` answer is ``ok``. With ``follow_redirects=False`` a redirect is the
        result (status ``redirect``, ``location`` absolute), for a crawler that checks every hop
        against robots.txt and hands other hosts to their own queue."""
        cfg = self.cfg
        start = time.monotonic()
        deadline = start + cfg.total_timeout_s
        result = FetchResult(url, "error")
        for attempt in range(cfg.retries + 1):
            result = self._attempt(url, deadline, headers or {}, follow_redirects)
            result.attempts = attempt + 1
            if result.status not in RETRYABLE or attempt == cfg.retries:
                break
            wait = min(cfg.backoff_s * (2 ** attempt), cfg.backoff_max_s)
            wait *= 1.0 + 0.25 * random.random()
            if result.retry_after_s is not None:
                wait = max(wait, min(result.retry_after_s, cfg.backoff_max_s))
            if time.monotonic() + wait >= deadline:
                break
            time.sleep(wait)
        result.elapsed_s = time.monotonic() - start
        return result

    def _attempt(self, url: str, deadline: float, headers: dict[str, str],
                 follow: bool) -> FetchResult:
        visited = {url}
        current = url
        for _ in range(self.cfg.max_redirects + 1):
            try:
                scheme, host, port, target = request_target(current)
            except EgressBlocked as e:
                return FetchResult(url, e.status, final_url=current, detail=e.detail)
            except ValueError as e:
                return FetchResult(url, "invalid_url", final_url=current, detail=str(e))
            if not self.gate.wait(f"{host}:{port}", deadline):
                return FetchResult(url, "timeout", final_url=current,
                                   detail="total deadline passed waiting for the host's turn")
            try:
                outcome = self._request(url, current, scheme, host, port, target, deadline,
                                        headers)
            finally:
                self.gate.done(f"{host}:{port}")
            if outcome.status != "redirect":
                return outcome
            nxt = urljoin(current, outcome.location)
            if not follow:
                outcome.location = nxt
                return outcome
            if nxt in visited:
                return FetchResult(url, "redirect_loop", final_url=nxt,
                                   detail=f"{current} redirects back to {nxt}")
            visited.add(nxt)
            current = nxt
        return FetchResult(url, "too_many_redirects", final_url=current,
                           detail=f"more than {self.cfg.max_redirects} redirects")

    def _request(self, url: str, current: str, scheme: str, host: str, port: int, target: str,
                 deadline: float, extra: dict[str, str]) -> FetchResult:
        """One HTTP exchange: a final ``FetchResult``, or one with status ``redirect`` whose
        ``location`` is the raw ``Location`` header."""
        cfg = self.cfg
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return FetchResult(url, "timeout", final_url=current, detail="total deadline")
        timeout = min(cfg.connect_timeout_s, remaining)
        if scheme == "https":
            conn = _PinnedHTTPSConnection(host, port, timeout, self.policy, self._ssl)
        else:
            conn = _PinnedHTTPConnection(host, port, timeout, self.policy)
        sent = {
            "User-Agent": cfg.user_agent,
            "Accept": "image/*,*/*;q=0.5" if cfg.require_image_type else "*/*",
            "Accept-Encoding": "identity",
            "Connection": "close",
            **extra,
        }
        phase = "connect"
        requested_at = time.time()
        try:
            conn.connect()
            phase = "read"
            sock = conn.sock  # kept: http.client drops conn.sock once the response owns it
            sock.settimeout(min(cfg.read_timeout_s, max(deadline - time.monotonic(), 0.001)))
            conn.request("GET", target, headers=sent)
            resp = conn.getresponse()
            code = resp.status
            ctype = resp.getheader("Content-Type")
            wire = {"headers": list(resp.getheaders()), "reason": resp.reason,
                    "http_version": "HTTP/1.0" if resp.version == 10 else "HTTP/1.1",
                    "request_headers": [("Host", _host_header(host, port, scheme)),
                                        *sent.items()],
                    "request_target": target, "peer": conn.peer, "requested_at": requested_at}
            ok_codes = (200, 206) if any(k.lower() == "range" for k in extra) else (200,)
            if code in REDIRECT_CODES:
                location = resp.getheader("Location")
                if location:
                    return FetchResult(url, "redirect", final_url=current, http_status=code,
                                       content_type=ctype, location=location, **wire)
            if code not in ok_codes:
                return FetchResult(url, f"http_{code}", final_url=current, http_status=code,
                                   content_type=ctype,
                                   retry_after_s=_retry_after(resp.getheader("Retry-After")),
                                   **wire)
            robots = (resp.getheader("X-Robots-Tag") or "").lower()
            if cfg.honour_noai and any(t in robots.replace(",", " ").split()
                                       for t in OPT_OUT_TOKENS):
                return FetchResult(url, "opted_out", final_url=current, http_status=code,
                                   content_type=ctype, detail=f"X-Robots-Tag: {robots}", **wire)
            if cfg.require_image_type and not (ctype or "").lower().startswith("image/"):
                return FetchResult(url, "not_image", final_url=current, http_status=code,
                                   content_type=ctype, detail=f"Content-Type: {ctype}", **wire)
            declared = resp.getheader("Content-Length")
            if declared and declared.strip().isdigit() and int(declared) > cfg.max_bytes:
                return FetchResult(url, "too_large", final_url=current, http_status=code,
                                   content_type=ctype,
                                   detail=f"Content-Length {declared} > {cfg.max_bytes}",
                                   **wire)
            body = self._read_body(resp, sock, deadline)
            if body is None:
                return FetchResult(url, "too_large", final_url=current, http_status=code,
                                   content_type=ctype,
                                   detail=f"body exceeds {cfg.max_bytes} bytes", **wire)
            return FetchResult(url, "ok", body=body, final_url=current, http_status=code,
                               content_type=ctype, **wire)
        except EgressBlocked as e:
            return FetchResult(url, e.status, final_url=current, detail=e.detail)
        except TimeoutError:  # socket.timeout is TimeoutError since Python 3.10
            late = time.monotonic() >= deadline
            return FetchResult(url, "timeout", final_url=current,
                               detail="total deadline" if late else f"{phase} timeout")
        except socket.gaierror as e:
            return FetchResult(url, "dns_error", final_url=current, detail=str(e))
        except ssl.SSLError as e:
            return FetchResult(url, "ssl_error", final_url=current, detail=str(e))
        except (ConnectionError, http.client.HTTPException, OSError) as e:
            return FetchResult(url, "connection_error", final_url=current,
                               detail=f"{type(e).__name__}: {e}")
        finally:
            conn.close()

    def _read_body(self, resp: http.client.HTTPResponse, sock: socket.socket,
                   deadline: float) -> bytes | None:
        """The body, or None past ``max_bytes``. Each read waits at most the read timeout and
        never past the deadline (``read1`` returns what has arrived instead of filling a buffer)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("total deadline")
            sock.settimeout(min(self.cfg.read_timeout_s, remaining))
            chunk = resp.read1(CHUNK)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.cfg.max_bytes:
                return None
            chunks.append(chunk)

    # -- many URLs ----------------------------------------------------------------------------

    def fetch_many(self, urls: Iterable[str]) -> Iterator[FetchResult]:
        """Fetch ``urls`` with ``threads`` at a time; results come back in input order."""
        urls = list(urls)
        if not urls:
            return
        workers = min(self.cfg.threads, len(urls))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="m6-fetch") as pool:
            yield from pool.map(self.fetch, urls)
