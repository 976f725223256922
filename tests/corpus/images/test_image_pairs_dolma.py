"""Pairs mined from real crawled pages: dolma's sample WARCs (37 English pages, 383 ``<img>``).

Pages are parsed by ``corpus.parse.warc`` and extracted by ``corpus.extract.html.ExtractHTML``
(which leaves each page's image references on its ``Document``), as in the pipeline;
``MinePairs`` must keep content images with their text and drop site chrome with the right
reason. The WARCs hold no image records, so with
downloading off every kept pair ends as ``not_in_crawl``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from corpus.document import Page
from corpus.extract.html import ExtractHTML
from corpus.images.join import JoinImages, pair_key
from corpus.images.pairs import MinePairs
from corpus.images.process import ProcessImages
from corpus.images.records import ImagePair
from corpus.parse.warc import iter_records
from corpus.stage import split

WARCS = sorted((Path(__file__).resolve().parents[2] / "fixtures" / "warc").glob("dolma_*.warc.gz"))


@pytest.fixture(scope="module")
def mined():
    pages = [rec for path in WARCS for rec in iter_records(str(path), source="common_crawl")
             if isinstance(rec, Page)]
    docs, not_extracted = split(ExtractHTML().run(pages))
    assert len(pages) == 37 and not not_extracted
    kept, rejected = split(MinePairs().run(docs))
    return kept, rejected, sum(len(d.images) for d in docs)


def by_url(items, fragment: str):
    return [x for x in items if fragment in (x.image_url or "")]


def test_every_reference_is_accounted_for(mined):
    kept, rejected, n_refs = mined
    assert len(WARCS) == 2
    assert n_refs > 300 and len(kept) + len(rejected) == n_refs
    assert len(kept) > 100
    for p in kept:
        assert isinstance(p, ImagePair) and p.source == "webpage"
        assert p.image_url.startswith(("http://", "https://")) and p.text
        assert p.url and p.input_file and p.offset is not None
    reasons = Counter(r.reason for r in rejected)
    assert reasons["unsupported_format"] > 100  # the research-team page is full of SVG logos
    assert {"icon", "declared_too_small", "bad_url", "duplicate_in_page"} <= set(reasons)
    assert all(r.kind == "image_text" and r.stage == "image_pairs" for r in rejected)


def test_alt_text_becomes_the_pair_text(mined):
    kept, _, _ = mined
    (raccoon,) = by_url(kept, "soldaini.net/alt.webp")
    assert raccoon.text.startswith("A raccoon wearing a top hat")
    assert raccoon.url == "https://soldaini.net/"


@pytest.mark.parametrize("fragment,reason", [
    ("DPGA_Logo.png", "icon"),  # creativecommons.org: a partner's logo
    ("gravatar.com/avatar/", "icon"),  # comment avatars on a WordPress blog
    ("gravatar.com/blavatar/", "declared_too_small"),  # declared 50x50
    ("~axz/null", "bad_url"),  # a template that never filled its src
])
def test_chrome_is_dropped_with_its_reason(mined, fragment, reason):
    _, rejected, _ = mined
    hits = by_url(rejected, fragment)
    assert hits and {r.reason for r in hits} == {reason}


def test_inline_svg_data_uris_are_bad_urls(mined):
    _, rejected, _ = mined
    data = [r for r in rejected if (r.image_url or "").startswith("data:")]
    assert data and {r.reason for r in data} == {"bad_url"}


def test_without_image_records_or_downloads_pairs_end_as_not_in_crawl(mined):
    kept, _, _ = mined
    some = kept[:20]
    jobs = [j for p in some for j in JoinImages().job(pair_key(p), [p], [])]
    out = list(ProcessImages().run(jobs))
    assert len(out) == len(some)
    assert {(r.stage, r.reason) for r in out} == {("image_fetch", "not_in_crawl")}
