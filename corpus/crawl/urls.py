"""URL normalisation, hosts and registered domains for the crawler (issue 14.3).

``normalise_url`` makes one spelling of each URL, so a URL list, a sitemap and the links of pages
are deduplicated against each other and against the fetch log of earlier runs. The rules (a
subset of RFC 3986 section 6.2.2 "syntax-based normalisation" plus the usual crawler rules of
Heritrix and StormCrawler's ``BasicURLNormalizer``), in order:

1. surrounding whitespace is stripped; only ``http`` and ``https`` URLs with a host are kept
   (anything else is ``None``);
2. scheme and host are lower-cased, an internationalised host is IDNA-encoded
   (``例子.cn`` -> ``xn--fsqu00a.cn``), a trailing dot of the host is dropped, an IPv6 literal
   keeps its brackets; user info (``user:pass@``) is dropped;
3. the default port (80 for http, 443 for https) is dropped, any other port kept;
4. the fragment (``#...``) is dropped: it never reaches the server;
5. the path: empty becomes ``/``; dot segments are resolved (``/a/./b/../c`` -> ``/a/c``) and
   repeated slashes collapsed (``/a//b`` -> ``/a/b``);
6. percent-encoding (path and query): escapes of unreserved characters are decoded (``%7E`` ->
   ``~``, ``%41`` -> ``A``), the remaining escapes get upper-case hex (``%2f`` -> ``%2F``), and
   characters that must be escaped (non-ASCII as UTF-8, spaces, controls) are escaped; reserved
   characters are left exactly as written, since ``/`` and ``%2F`` differ to a server;
7. query parameters are sorted by name (stable: the order of repeated names is kept), an empty
   query (a bare ``?``) is dropped. Parameter names and values are not otherwise changed: dropping
   session ids or tracking parameters would merge pages some sites keep apart.

The path's case is kept (servers differ). ``origin`` (``scheme://host[:port]``) is the unit of
politeness and of robots.txt (RFC 9309 section 2.3: robots.txt applies per scheme, host and port).
``registered_domain`` uses the Public Suffix List (``publicsuffixlist``, bundled with the
package: no download at run time) so ``--depth`` stays within ``news.sina.com.cn``'s
``sina.com.cn`` and not all of ``com.cn``.
"""

from __future__ import annotations

import functools
import posixpath
import re
from urllib.parse import quote, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
# characters left as written in a path or a query: reserved (RFC 3986 2.2), unreserved, and '%'
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = _PATH_SAFE + "?"


def _fix_escapes(text: str, safe: str) -> str:
    def unescape(m: re.Match) -> str:
        ch = chr(int(m.group(1), 16))
        return ch if ch in _UNRESERVED else "%" + m.group(1).upper()

    text = _ESCAPE.sub(unescape, text)
    # a '%' not followed by two hex digits is a literal percent sign: escape it
    text = re.sub(r"%(?![0-9A-F]{2})", "%25", text)
    return quote(text, safe=safe)


def _path(path: str) -> str:
    if not path:
        return "/"
    trailing = path.endswith(("/", "/.", "/.."))
    norm = posixpath.normpath(path)
    if norm.startswith("//"):  # normpath keeps a leading '//'; a path has one slash
        norm = "/" + norm.lstrip("/")
    if trailing and norm != "/":
        norm += "/"
    return norm if norm.startswith("/") else "/" + norm


def _query(query: str) -> str:
    if not query:
        return ""
    params = [p for p in query.split("&") if p]
    params.sort(key=lambda p: p.split("=", 1)[0])
    return "&".join(params)


def host_of(url: str) -> str | None:
    """The lower-case, IDNA-encoded host of ``url`` (an IPv6 literal without brackets)."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.rstrip(".").lower()
    if ":" in host:
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def normalise_url(url: str) -> str | None:
    """One spelling of ``url`` (see the module rules), or None if it is not a crawlable URL."""
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            return None
        host = host_of(url)
        port = parts.port
    except ValueError:
        return None
    if not host:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    path = _fix_escapes(_path(parts.path), _PATH_SAFE)
    query = _fix_escapes(_query(parts.query), _QUERY_SAFE)
    return urlunsplit((scheme, netloc, path, query, ""))


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a normalised URL: the politeness and robots.txt unit."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@functools.lru_cache(maxsize=1)
def _psl():
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def registered_domain(url_or_host: str) -> str | None:
    """The registered domain (public suffix plus one label) of a URL or host; an IP address is
    its own domain; None for a bare public suffix."""
    host = host_of(url_or_host) if "/" in url_or_host else url_or_host.lower().strip("[]")
    if not host:
        return None
    if ":" in host or re.fullmatch(r"[0-9.]+", host):
        return host
    return _psl().privatesuffix(host)
