"""Image references of a page: absolute URL, alt, title, figure caption, surrounding text, size.

Paper 2.3 keeps, from crawled pages, "images and their surrounding text as relevant image-text
pairs". This module finds every ``<img>`` in the page body (``<picture>`` included) and records
what the image path (``corpus.images.pairs``) needs to judge and describe it; it does not judge
(tracking pixels, icons, ``data:`` URLs and duplicates are left for that path to reject with
its own reasons).

- URL: ``src`` resolved against ``<base href>`` or the page URL. Lazy-loading pages put the real
  URL in ``data-src``, ``data-original``, ``file`` (Discuz forums) and the like, with a
  placeholder or nothing in ``src``; the lazy attribute wins then. ``srcset`` candidates (on the
  ``<img>`` and on every ``<source>`` of an enclosing ``<picture>``) are compared and the largest
  is kept: by ``w`` descriptor, else by ``x`` density (``1x`` when none is written).
- ``caption``: the ``<figcaption>`` of the nearest enclosing ``<figure>``.
- ``context_before`` / ``context_after``: the nearest non-empty text before and after the image
  (or its ``<picture>``) within ``max_levels`` of DOM distance: level 0 looks at the image's own
  siblings, level 1 at its parent's siblings, and so on up to ``max_levels`` ancestors; the
  caption itself is not context. Cut to ``max_chars`` on the side nearest the image.
- ``width`` / ``height``: the declared ``width``/``height`` attributes (``"300"``, ``"300px"``;
  percentages ignored); when the chosen ``srcset`` candidate has a ``w`` descriptor its width is
  used and the declared height scaled to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin

from corpus.document import ImageRef

LAZY_ATTRS = ("data-src", "data-original", "data-lazy-src", "data-lazyload", "data-actualsrc",
              "data-url", "data-echo", "file", "zoomfile", "original")
LAZY_SRCSET_ATTRS = ("data-srcset", "data-lazy-srcset")
_PLACEHOLDER_WORDS = ("blank", "placeholder", "loading", "lazy", "spacer", "grey.gif", "pixel.gif",
                      "transparent", "default.gif", "default.png", "default.jpg")
_SRCSET_URL = re.compile(r"[\s,]*(\S+)")
_DIMENSION = re.compile(r"^\s*(\d{1,6})(?:\.\d+)?\s*(?:px)?\s*$", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
SKIP_TEXT_TAGS = frozenset({"script", "style", "noscript", "template", "figcaption", "svg",
                            "select", "option", "button", "textarea"})
MAX_DATA_URI_CHARS = 2048


@dataclass(frozen=True)
class Candidate:
    url: str
    width: int | None = None  # from a "w" descriptor
    density: float = 1.0  # from an "x" descriptor


def parse_srcset(srcset: str | None) -> list[Candidate]:
    """Candidates of a ``srcset`` value, in order (``"a.jpg 480w, b.jpg 2x"``), tokenised as the
    HTML standard does: a URL is a run of non-space characters (so ``w_300,h_200`` in a CDN URL
    stays whole), trailing commas end it, descriptors run to the next comma."""
    out: list[Candidate] = []
    if not srcset:
        return out
    pos, n = 0, len(srcset)
    while pos < n:
        m = _SRCSET_URL.match(srcset, pos)
        if not m:
            break
        url, pos = m.group(1), m.end()
        descriptor = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            comma = srcset.find(",", pos)
            end = n if comma < 0 else comma
            descriptor, pos = srcset[pos:end].strip(), end + 1
        if not url:
            continue
        unit, value = descriptor[-1:].lower(), descriptor[:-1]
        try:
            if unit == "w":
                out.append(Candidate(url, width=int(float(value))))
                continue
            if unit == "x":
                out.append(Candidate(url, density=float(value)))
                continue
        except ValueError:
            pass
        out.append(Candidate(url))
    return out


def largest(candidates: list[Candidate]) -> Candidate | None:
    """The candidate with the largest ``w`` descriptor, else the largest density; the first wins
    ties (so a plain ``src`` listed first stays when nothing says another is bigger)."""
    if not candidates:
        return None
    with_w = [c for c in candidates if c.width is not None]
    if with_w:
        return max(with_w, key=lambda c: c.width)
    return max(candidates, key=lambda c: c.density)


def dimension(value: str | None) -> int | None:
    """A declared width/height attribute as pixels, or None (``"100%"``, ``"auto"``, junk)."""
    if not value:
        return None
    m = _DIMENSION.match(value)
    return int(m.group(1)) if m else None


def _get(attrs: dict, name: str) -> str | None:
    v = attrs.get(name)
    if not v:
        return None
    v = v.strip()
    return v or None


def _attr(node, name: str) -> str | None:
    return _get(node.attributes, name)


_CJK = "\u2e80-\u9fff\u3000-\u303f\uf900-\ufaff\uff00-\uffef"
_CJK_GAP = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])")


def _clean(text: str | None) -> str:
    """Collapse white space; drop the spaces that joining inline elements put between Chinese
    characters ("请点击 编辑 。" -> "请点击编辑。")."""
    if not text:
        return ""
    return _CJK_GAP.sub("", _SPACE.sub(" ", text).strip())


def _is_placeholder(src: str) -> bool:
    low = src.lower()
    return any(w in low for w in _PLACEHOLDER_WORDS)


def _src_of(attrs: dict) -> str | None:
    src = _get(attrs, "src")
    if src is not None and not src.startswith("data:") and not _is_placeholder(src):
        return src
    lazy = next((v for v in (_get(attrs, a) for a in LAZY_ATTRS) if v), None)
    return lazy or src


def _resolve(base: str, url: str) -> str | None:
    url = url.strip()
    if url.startswith(("https://", "http://")) and " " not in url:
        return url  # already absolute: urljoin would only normalise it, at ~25 us a call
    low = url[:11].lower()
    if low.startswith(("javascript:", "about:", "#")):
        return None
    if low.startswith("data:"):
        return url if len(url) <= MAX_DATA_URI_CHARS else None
    try:
        return urljoin(base, url)
    except ValueError:
        return None


def _node_text(node) -> str:
    tag = node.tag
    if tag == "-text":
        return node.text_content or ""
    if tag.startswith("-") or tag in SKIP_TEXT_TAGS:  # comments, doctype; scripts, captions
        return ""
    return node.text(separator=" ")


def context(node, before: bool, max_levels: int, max_chars: int) -> str | None:
    """Nearest non-empty text before (or after) ``node`` within ``max_levels`` ancestors.

    A sibling's whole text is taken natively (lexbor) and cut: measured faster than walking the
    subtree from its edge in Python on the real pages, where the nearest sibling is small."""
    cur = node
    for _ in range(max_levels + 1):
        sib = cur.prev if before else cur.next
        while sib is not None:
            raw = _node_text(sib)
            if raw and not raw.isspace():
                # cut generously before cleaning (cleaning only shrinks), then exactly after
                text = _clean(raw[-4 * max_chars:] if before else raw[:4 * max_chars])
                if text:
                    return text[-max_chars:] if before else text[:max_chars]
            sib = sib.prev if before else sib.next
        cur = cur.parent
        if cur is None or cur.tag in ("body", "html"):
            break
    return None


def _caption(node, max_up: int = 4) -> str | None:
    cur = node.parent
    for _ in range(max_up):
        if cur is None or cur.tag in ("body", "html"):
            return None
        if cur.tag == "figure":
            cap = cur.css_first("figcaption")
            text = _clean(cap.text(separator=" ")) if cap is not None else ""
            return text or None
        cur = cur.parent
    return None


def base_url(tree, page_url: str) -> str:
    base = tree.css_first("base[href]")
    if base is not None:
        href = _attr(base, "href")
        if href:
            try:
                return urljoin(page_url, href)
            except ValueError:
                pass
    return page_url


def find_images(tree, page_url: str, *, max_levels: int = 3, max_chars: int = 300,
                max_images: int = 200) -> list[ImageRef]:
    """``ImageRef`` of every ``<img>`` in the body of a page parsed by selectolax's lexbor
    parser, in document order."""
    body = tree.body
    if body is None:
        return []
    base = base_url(tree, page_url)
    refs: list[ImageRef] = []
    for img in body.css("img"):
        if len(refs) >= max_images:
            break
        parent = img.parent
        holder = parent if parent is not None and parent.tag == "picture" else img
        attrs = img.attributes
        src = _src_of(attrs)
        cands = [Candidate(src)] if src else []
        srcset = _get(attrs, "srcset") or next(
            (v for v in (_get(attrs, a) for a in LAZY_SRCSET_ATTRS) if v), None)
        if srcset:
            cands += parse_srcset(srcset)
        if holder is not img:
            for source in holder.css("source"):
                cands += parse_srcset(_attr(source, "srcset") or _attr(source, "data-srcset"))
        best = largest(cands)
        url = _resolve(base, best.url) if best else None
        if not url:
            continue
        width, height = dimension(attrs.get("width")), dimension(attrs.get("height"))
        if best.width is not None:
            if width and height:
                height = round(height * best.width / width)
            width = best.width
        refs.append(ImageRef(
            url=url, alt=_clean(attrs.get("alt")) or None,
            title=_clean(attrs.get("title")) or None,
            caption=_caption(holder),
            context_before=context(holder, True, max_levels, max_chars),
            context_after=context(holder, False, max_levels, max_chars),
            width=width, height=height,
        ))
    return refs
