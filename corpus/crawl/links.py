"""Links of a crawled page for ``--depth`` (issue 14.3): ``<a href>`` targets, resolved against
the page URL (or its ``<base href>``), normalised (``urls.normalise_url``), kept only when their
registered domain is one of the seeds' and the page does not opt out with
``<meta name="robots" content="nofollow">`` or a link's ``rel="nofollow"``.

selectolax's lexbor parser is used as in the extractor: it is fast and copes with any markup;
at most ``MAX_LINKS`` links are taken from one page, so a page of a million anchors costs a
bounded amount downstream.
"""

from __future__ import annotations

from urllib.parse import urljoin

from corpus.crawl.urls import normalise_url, registered_domain

MAX_LINKS = 1000


def page_links(body: bytes, page_url: str, domains: frozenset[str],
               limit: int = MAX_LINKS) -> list[str]:
    """In-scope links of an HTML page, normalised, deduplicated, in document order."""
    from selectolax.lexbor import LexborHTMLParser

    try:
        tree = LexborHTMLParser(body.decode("utf-8", errors="replace"))
    except Exception:  # noqa: BLE001 - hostile markup: a page without links
        return []
    for meta in tree.css('meta[name="robots" i]'):
        if "nofollow" in (meta.attributes.get("content") or "").lower():
            return []
    base = page_url
    node = tree.css_first("base[href]")
    if node is not None and node.attributes.get("href"):
        base = urljoin(page_url, node.attributes["href"])
    out: dict[str, None] = {}
    for a in tree.css("a[href]"):
        if "nofollow" in (a.attributes.get("rel") or "").lower():
            continue
        href = (a.attributes.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
            continue
        try:
            url = normalise_url(urljoin(base, href))
        except ValueError:
            continue
        if url and registered_domain(url) in domains:
            out.setdefault(url, None)
            if len(out) >= limit:
                break
    return list(out)
