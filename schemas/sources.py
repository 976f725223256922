"""The data sources of M6-Corpus (paper Tables 1 and 3) as the ``source`` column's vocabulary.

Plain-text sources: encyclopedia, community_qa, forum, common_crawl. Image-text sources:
encyclopedia, webpage (images in crawled pages with their surrounding text), ecommerce (product
images and descriptions). ``unknown`` marks records whose source cannot be told, for instance a
corrupt WARC record rejected before it was parsed.
"""

from __future__ import annotations

SOURCES = (
    "encyclopedia",
    "community_qa",
    "forum",
    "common_crawl",
    "webpage",
    "ecommerce",
    "unknown",
)

PLAIN_TEXT_SOURCES = ("encyclopedia", "community_qa", "forum", "common_crawl")
IMAGE_TEXT_SOURCES = ("encyclopedia", "webpage", "ecommerce")


def check_source(source: str) -> str:
    """Return ``source`` if it is a known source, else raise ``ValueError`` naming the choices."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    return source
