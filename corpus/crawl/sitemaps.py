"""Seeds of ``m6 crawl urls``: URL lists (one URL a line) and sitemaps (sitemaps.org protocol:
``<urlset>`` and ``<sitemapindex>``, plain or gzipped), told apart by content, not by name.

A sitemap is read with a bounded regular expression over its ``<loc>`` elements rather than an
XML parser: the file is hostile input, and a scan is linear in its size with no entity expansion
(no billion-laughs, no external entities); ``<loc>`` text is XML-unescaped. At most
``MAX_SITEMAP_BYTES`` (the protocol's 50 MB, uncompressed) are read from one file, so a gzip
bomb stops there. A sitemap index names further sitemaps: local paths (relative to the index)
are read from disk, http(s) URLs are fetched by the caller through the egress policy.
"""

from __future__ import annotations

import gzip
import html
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_SITEMAP_BYTES = 50 * 1024 * 1024
_LOC = re.compile(rb"<(?:[A-Za-z0-9_]+:)?loc>\s*([^<]{1,8192}?)\s*</(?:[A-Za-z0-9_]+:)?loc>")
_INDEX = re.compile(rb"<(?:[A-Za-z0-9_]+:)?sitemapindex[\s>]")
_XML_START = re.compile(rb"^\s*(<\?xml|<(?:[A-Za-z0-9_]+:)?(urlset|sitemapindex)[\s>])")


@dataclass(frozen=True)
class Seeds:
    """What one input file holds: page URLs, and sitemaps it points to (an index)."""

    urls: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()


def decompress(data: bytes) -> bytes:
    """``data`` gunzipped if it is gzip, at most ``MAX_SITEMAP_BYTES``."""
    if data[:2] != b"\x1f\x8b":
        return data[:MAX_SITEMAP_BYTES]
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as f:
        try:
            return f.read(MAX_SITEMAP_BYTES)
        except (OSError, EOFError):
            return b""


def parse_seeds(data: bytes) -> Seeds:
    """The URLs of a URL list or a sitemap (``data`` as read, gzipped or not)."""
    text = decompress(data)
    if _XML_START.match(text):
        locs = tuple(html.unescape(m.group(1).decode("utf-8", errors="replace")).strip()
                     for m in _LOC.finditer(text))
        return Seeds(sitemaps=locs) if _INDEX.search(text[:4096]) else Seeds(urls=locs)
    urls = []
    for line in text.decode("utf-8", errors="replace").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            urls.append(line.split()[0])
    return Seeds(urls=tuple(urls))


def read_seed_files(paths: list[Path]) -> Iterator[tuple[str, Seeds]]:
    """``(path, Seeds)`` of each file, following local sitemap-index entries (relative paths
    inside the index's own folder; others are ignored) once each; http(s) entries are left in
    ``Seeds.sitemaps`` for the caller to fetch."""
    seen: set[Path] = set()
    todo = [Path(p) for p in paths]
    while todo:
        path = todo.pop(0).resolve()
        if path in seen:
            continue
        seen.add(path)
        with open(path, "rb") as f:
            seeds = parse_seeds(f.read(MAX_SITEMAP_BYTES + 1))
        remote = []
        for loc in seeds.sitemaps:
            if loc.startswith(("http://", "https://")):
                remote.append(loc)
            elif "://" not in loc and not loc.startswith("/"):
                child = (path.parent / loc).resolve()
                if child.is_relative_to(path.parent) and child.is_file():
                    todo.append(child)
        yield str(path), Seeds(seeds.urls, tuple(remote))
