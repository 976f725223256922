"""Bring each image's bytes to the pairs that refer to it (the reduce side of a join by URL).

The pipeline keys every pair by ``url_key`` of its image URL (or by its listing file path) and
every image response record of the crawl by ``url_key`` of its target URI, groups both by key
(Beam's ``CoGroupByKey``), and hands each group to ``JoinImages``, which makes one ``ImageJob``:

* bytes from the crawl when a record exists (a 200 response first, then the first by file and
  offset, so the choice is the same on every runner);
* bytes from the file for a listing's local image (``file_not_found``, ``file_too_large``);
* otherwise a job marked for download (``ImageConfig.download``), or one that
  ``ProcessImages`` rejects with ``not_in_crawl`` (pages) or ``download_off`` (listing URLs).

An image record that no pair refers to is one rejected row of kind ``image`` with reason
``no_pair``: the crawl fetched it, the corpus does not use it, and the count says how much of a
crawl's image bytes are spent on images that are never paired.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from corpus.document import Page
from corpus.images.config import ImageConfig
from corpus.images.listing import load_file
from corpus.images.records import ImageJob, ImagePair
from corpus.stage import Stage

_DEFAULT_PORTS = {"http": 80, "https": 443}

PAIRS = "pairs"
IMAGES = "images"


def url_key(url: str) -> str:
    """``url`` with scheme and host lowercased, default port, user info and fragment removed;
    the path and query are kept as they are (they are case-sensitive on most servers)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if ":" in host:  # an IPv6 literal keeps its brackets, or the port reads as part of it
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def pair_key(pair: ImagePair) -> str:
    """The join key of a pair: its image URL's ``url_key``, or its listing file path."""
    return url_key(pair.image_url) if pair.image_url else (pair.image_path or "")


def page_key(page: Page) -> str:
    return url_key(page.url)


def needs_download(job: ImageJob) -> bool:
    return job.body is None and job.origin == "download" and job.fetch_status is None


def _page_order(page: Page) -> tuple[bool, str, int]:
    return (page.status not in (None, 200), page.input_file or "", page.offset or 0)


class JoinImages(Stage):
    """``(key, {"pairs": [...], "images": [...]})`` -> an ``ImageJob`` or a ``no_pair`` row."""

    name: ClassVar[str] = "image_join"

    def __init__(self, cfg: ImageConfig | None = None):
        self.cfg = cfg or ImageConfig()

    def job(self, key: str, pairs: Iterable[ImagePair], pages: Iterable[Page]) -> Iterator[Any]:
        pairs = sorted(pairs, key=lambda p: p.id)
        pages = sorted((pg for pg in pages if pg.body), key=_page_order)
        if not pairs:
            if pages:
                first = pages[0]
                yield ImageJob(key, [], image_file=first.input_file).reject_image(
                    self.name, "no_pair", detail=f"{len(pages)} record(s), {len(first.body)} "
                                                 "bytes, referred to by no kept pair")
            return
        job = ImageJob(key, pairs)
        if pages:
            first = pages[0]
            job.body, job.origin = first.body, "crawl"
            job.content_type, job.image_file = first.content_type, first.input_file
        elif pairs[0].image_path and not pairs[0].image_url:
            body, status = load_file(pairs[0].image_path, self.cfg.decode.max_bytes)
            job.body, job.origin = body, "file"
            job.fetch_status = None if body is not None else status
        elif self.cfg.download:
            job.origin = "download"
        else:
            listed = all(p.from_listing for p in pairs)
            job.fetch_status = "download_off" if listed else "not_in_crawl"
        yield job

    def process(self, record: tuple[str, dict[str, Iterable[Any]]]) -> Iterator[Any]:
        key, groups = record
        yield from self.job(key, groups.get(PAIRS, ()), groups.get(IMAGES, ()))
