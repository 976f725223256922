"""Candidate image-text pairs from the image references of a crawled page.

Paper 2.3: "For images and texts in crawled webpages, we only consider images and their
surrounding text as relevant image-text pairs. Other sentences in the webpages are discarded."
The extractor (``corpus.extract``) leaves every ``<img>``/``<picture>`` of a page on the
``Document`` as an ``ImageRef`` (absolute URL, ``alt``, ``title``, figure caption, nearest text
before and after it in the DOM, declared width and height). ``MinePairs`` turns each reference
into an ``ImagePair``, or into a rejected row when it is not content:

==================== =============================================================================
reason               rule
==================== =============================================================================
bad_url              not an absolute http(s) URL (``data:``, ``javascript:``, empty, relative), a
                     path ending in ``/null`` or ``/undefined`` (a template left unfilled), or
                     the page's own URL
unsupported_format   the URL path ends in ``.svg``, ``.ico``, ... (vector art and icons)
tracking_pixel       declared at most ``tracking_max_side`` on a side, a tracker's host, or a
                     tracking word in the URL path (``beacon``, ``pixel``, ...)
spacer               a spacer word in the URL path (``spacer.gif``, ``blank``, ``1x1``, ...)
icon                 every declared side at most ``icon_max_side``, or an icon word in the URL
                     path (``favicon``, ``logo``, ``sprite``, ``avatar``, ...)
declared_too_small   declared width x height under ``min_declared_pixels`` (the paper's 5000
                     pixels, known before downloading anything)
duplicate_in_page    the same image URL earlier on the page (the first occurrence is kept)
too_many_images      beyond ``max_pairs_per_page`` images on one page
no_text              no caption, alt, title or surrounding text at all
==================== =============================================================================

The pair text is composed by ``compose_text``: the descriptive fields (figure caption, ``alt``,
``title``), without generic words ("image", "图片") and file names ("IMG_0042.jpg"), each kept once;
when they give fewer than ``min_descriptive_chars`` characters, the nearest text before and after
the image is added (at most ``context_chars`` of each, cut at a sentence boundary). When that
text is not Chinese, the Chinese descriptive fields or the surrounding text are taken instead
(issue 16.2: half the pairs of a crawl of Chinese documentation had English-only alt texts beside
Chinese prose), so the text path's language rule can hold for pairs too. All five
fields are also kept in their own columns, so a user can recompose the text differently.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import urlsplit

from corpus.clean.language import cjk_share
from corpus.document import Document, ImageRef
from corpus.images.config import PairConfig
from corpus.images.records import ImagePair, pair_id
from corpus.stage import Stage
from schemas import IMAGE_TEXT_SOURCES

_WORD = re.compile(r"[a-z0-9]+")
_SPACE = re.compile(r"\s+")
_FILENAME = re.compile(
    r"^(?:[\w\-. ]+\.(?:jpe?g|png|gif|webp|bmp|tiff?|svg)|(?:img|dsc|dscn|dscf|pic|image|photo|"
    r"screenshot|wx_?camera|mmexport)[_\- ]?\d+)$",
    re.IGNORECASE,
)
_SENTENCE_END = "。！？!?；;…\n"
_JS_LEFTOVERS = ("null", "undefined", "none", "nan", "false")  # src="{{ img }}" never filled


def pair_source(doc_source: str) -> str:
    """Image-text source of a pair from a page of ``doc_source`` (paper Table 3)."""
    return doc_source if doc_source in IMAGE_TEXT_SOURCES else "webpage"


def _clean_space(text: str | None) -> str:
    return _SPACE.sub(" ", text).strip() if text else ""


def _tail(text: str, n: int) -> str:
    """The last ``n`` characters of ``text``, starting after a sentence end when one is near."""
    if len(text) <= n:
        return text
    cut = text[-n:]
    for i, ch in enumerate(cut[: n // 2]):
        if ch in _SENTENCE_END:
            return cut[i + 1:].strip()
    return cut.strip()


def _head(text: str, n: int) -> str:
    """The first ``n`` characters of ``text``, ending at a sentence end when one is near."""
    if len(text) <= n:
        return text
    cut = text[:n]
    for i in range(len(cut) - 1, n // 2 - 1, -1):
        if cut[i] in _SENTENCE_END:
            return cut[: i + 1].strip()
    return cut.strip()


def is_descriptive(text: str, cfg: PairConfig) -> bool:
    """False for empty text, generic words ("image", "图片") and file names ("IMG_0042.jpg")."""
    t = text.strip().strip(".:：-_ ").lower()
    return bool(t) and t not in cfg.generic_alt and not _FILENAME.match(t)


def is_chinese(text: str, cfg: PairConfig) -> bool:
    """Whether ``text`` is Chinese by the text path's language rule (``clean.language``: CJK
    characters over letter tokens at least ``cfg.chinese_share``)."""
    return cjk_share(text)[0] >= cfg.chinese_share


def _with_context(text: str, ref: ImageRef, cfg: PairConfig) -> str:
    before = _tail(_clean_space(ref.context_before), cfg.context_chars)
    after = _head(_clean_space(ref.context_after), cfg.context_chars)
    return " ".join(x for x in (before, text, after) if x)


def compose_text(ref: ImageRef, cfg: PairConfig) -> str:
    """The text of a pair: descriptive fields first, surrounding text when they are too short;
    the Chinese candidate when the first choice is not Chinese (see ``PairConfig.prefer_chinese``).

    Candidates in order: all descriptive fields (caption, alt, title) together, with the
    surrounding text added when they are shorter than ``min_descriptive_chars``; the Chinese
    descriptive fields alone (an untranslated English alt beside a Chinese caption); the
    surrounding text alone (English alt and caption, Chinese prose around the image). The first
    Chinese candidate wins; when none is Chinese the first is returned, and the pair text rule
    (``images.text.min_cjk_ratio``) decides.
    """
    parts: list[str] = []
    for piece in (ref.caption, ref.alt, ref.title):
        t = _clean_space(piece)
        if not is_descriptive(t, cfg) or any(t in p for p in parts):
            continue
        parts = [p for p in parts if p not in t] + [t]
    text = " ".join(parts)
    if len(text) < cfg.min_descriptive_chars:
        text = _with_context(text, ref, cfg)
    if not cfg.prefer_chinese or not text or is_chinese(text, cfg):
        return text
    chinese = " ".join(p for p in parts if is_chinese(p, cfg))
    if chinese:
        if len(chinese) < cfg.min_descriptive_chars:
            chinese = _with_context(chinese, ref, cfg)
        if is_chinese(chinese, cfg):
            return chinese
    context = _with_context("", ref, cfg)
    return context if context and is_chinese(context, cfg) else text


def url_words(path: str) -> set[str]:
    return set(_WORD.findall(path.lower()))


def chrome_reason(ref: ImageRef, cfg: PairConfig) -> tuple[str, str] | None:
    """``(reason, detail)`` when ``ref`` is not content (see the module table), else None."""
    url = (ref.url or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return "bad_url", f"not an absolute http(s) URL: {url[:100]!r}"
    path = parts.path.lower()
    if path.rstrip("/").rsplit("/", 1)[-1] in _JS_LEFTOVERS:
        return "bad_url", f"a script's unset value as the path: {url[:100]!r}"
    if path.endswith(cfg.drop_extensions):
        return "unsupported_format", f"extension of {path.rsplit('/', 1)[-1][:100]!r}"
    host = (parts.hostname or "").lower()
    host_path = host + parts.path
    for tracker in cfg.tracking_hosts:
        if host == tracker or host.endswith("." + tracker) or host_path.startswith(tracker):
            return "tracking_pixel", f"tracker host {tracker}"
    sides = [s for s in (ref.width, ref.height) if s is not None and s > 0]
    zero = any(s is not None and s <= 0 for s in (ref.width, ref.height))
    if zero or (sides and min(sides) <= cfg.tracking_max_side):
        return "tracking_pixel", f"declared {ref.width}x{ref.height}"
    words = url_words(path)
    hit = words.intersection(cfg.tracking_words)
    if hit:
        return "tracking_pixel", f"URL word {sorted(hit)[0]!r}"
    hit = words.intersection(cfg.spacer_words)
    if hit:
        return "spacer", f"URL word {sorted(hit)[0]!r}"
    if sides and max(sides) <= cfg.icon_max_side:
        return "icon", f"declared {ref.width}x{ref.height}"
    hit = words.intersection(cfg.icon_words)
    if hit:
        return "icon", f"URL word {sorted(hit)[0]!r}"
    if ref.width and ref.height and ref.width * ref.height < cfg.min_declared_pixels:
        return "declared_too_small", f"declared {ref.width}x{ref.height} < {cfg.min_declared_pixels} px"
    return None


class MinePairs(Stage):
    """``Document`` (with ``images``) -> one ``ImagePair`` per content image, rejected rows for
    the rest. Documents without images yield nothing: their text goes its own way."""

    name: ClassVar[str] = "image_pairs"

    def __init__(self, cfg: PairConfig | None = None):
        self.cfg = cfg or PairConfig()

    def pairs(self, doc: Document) -> Iterator[Any]:
        cfg = self.cfg
        source = pair_source(doc.source)
        seen: set[str] = set()
        kept = 0
        for position, ref in enumerate(doc.images, start=1):
            image_url = (ref.url or "").strip() or None
            pair = ImagePair(
                id=pair_id(source, doc.url, image_url), source=source,
                text=compose_text(ref, cfg), image_url=image_url, url=doc.url,
                alt=_clean_space(ref.alt) or None, title=_clean_space(ref.title) or None,
                caption=_clean_space(ref.caption) or None,
                context_before=_tail(_clean_space(ref.context_before), cfg.context_chars) or None,
                context_after=_head(_clean_space(ref.context_after), cfg.context_chars) or None,
                declared_width=ref.width, declared_height=ref.height,
                input_file=doc.input_file, offset=doc.offset,
            )
            why = chrome_reason(ref, cfg)
            if why is None and image_url == doc.url:
                why = ("bad_url", "the image URL is the page's own URL")
            if why is not None or image_url in seen or kept >= cfg.max_pairs_per_page \
                    or not pair.text:
                # a dropped reference gets an id of its own (the same image may be kept
                # from its first occurrence on the page, under the plain pair id)
                pair.id = pair_id(source, doc.url, image_url, position)
            if why is not None:
                yield pair.reject(self.name, why[0], detail=why[1])
            elif image_url in seen:
                yield pair.reject(self.name, "duplicate_in_page", detail=image_url)
            elif kept >= cfg.max_pairs_per_page:
                yield pair.reject(self.name, "too_many_images",
                                  detail=f"more than {cfg.max_pairs_per_page} on the page")
            elif not pair.text:
                yield pair.reject(self.name, "no_text",
                                  detail="no caption, alt, title or surrounding text")
            else:
                seen.add(image_url)
                kept += 1
                yield pair

    def process(self, record: Any) -> Iterator[Any]:
        if isinstance(record, Document) and record.images:
            yield from self.pairs(record)
