"""``ExtractHTML``: a crawled page (``Page``) becomes a ``Document`` with title, main text and
image references, or a rejected row saying why not.

Paper 2.3 starts from "the HTML markup ... removed"; what remains of a web page must be its
article, not its navigation bars, footers, link lists and sidebars. The main text is
resiliparse's main-content extraction (``extract_plain_text(main_content=True)``) over the page
as cleaned on a selectolax (lexbor) DOM, with extra boilerplate selectors for what Chinese portals call their chrome
(``ExtractConfig.skip_selectors``: breadcrumbs, share bars, comment areas, "related" lists,
editor credits), link lists (lists and table cells that are mostly links) and small ``<form>``
blocks (search boxes, comment forms) removed first; a form holding most of the page (ASP.NET
wraps whole pages in one) is kept. Paragraphs and list items become lines joined by ``"\\n"``;
a line equal to the title among the first three is dropped.

Library choice, measured with ``bench/bench_extract.py`` (same process, same decoded pages) on
the 41 sample pages whose main text is known (``data/sample/truth``) and on 67 real pages
(dolma, clueweb09 Japanese, Common Crawl fixtures), where trafilatura's output is the reference:

===============================  ======  =========  ================  ========  ============
extractor                        sample  sample     real: recall /    pages/s   vs resiliparse
                                 recall  precision  precision vs traf
===============================  ======  =========  ================  ========  ============
trafilatura 2.3                  1.000   0.832      (reference)       ~37       0.05x
resiliparse 2.0 main_content     0.983   0.828      0.894 / 0.595     ~780      1.00x
selectolax 1.0 (all body text)   1.000   0.660      0.920 / 0.296     ~3,700    4.8x
ExtractHTML (resiliparse + the   1.000   0.909      0.897 / 0.849     ~350      0.45x
rules here, images, charsets)
===============================  ======  =========  ================  ========  ============

(pages/s over all 118 pages, best of three windows on a shared 2-core machine; on the small
sample pages alone resiliparse does ~5,300 and ExtractHTML ~1,700.)

trafilatura is ~20x slower than resiliparse and would make extraction the bottleneck of the text
path (docs/design.md, "Performance goals": 5x datatrove's 34 docs/s end to end); selectolax is fastest but removes
no boilerplate. resiliparse is the engine; the rules here bring its precision on real pages from
0.60 to 0.85 of trafilatura's output at the same recall. They were kept only where the real pages
agreed: ``header``/``[class*=header]`` selectors cost 4.6 and 1.6 points of recall there (so only
``id="header"``, ``class~="header"`` and site/blog headers are skipped), link-list removal
counts from 5 links, and ``<ul>`` lists of text are unwrapped because resiliparse drops every
``<ul>`` (keeping ``<ol>``), which lost bullet lists of content (+1.9 points of recall). The rest
of the stage's time is the second parse (selectolax, for the rules, title and image references
with their context; resiliparse's DOM costs ~2 us per node access against ~0.04 us) and charset
decoding.

Rejections (``stage="extract"``, ``kind="page"``): ``http_status`` (status not in
``ok_status``), ``not_html`` (an image, a PDF, plain text, ...), ``page_too_large`` (over
``max_page_bytes``: checked before any parsing, so a 20 MB page costs nothing),
``empty_page`` (no bytes, or no visible text at all), ``binary_content`` (bytes that are not
text, whatever the Content-Type says), ``no_main_text`` (visible text, but under
``min_text_chars`` left once the boilerplate is gone, such as a navigation-only page), and
``extract_error`` (an exception inside a parser: the page is rejected, the job goes on),
``too_deep`` and ``too_many_elements`` (over ``BudgetConfig.html_max_depth`` /
``html_max_elements`` by the tag scan of ``corpus.budget``: rejected before any parsing, because
parse and extraction time grow with the square of the depth).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from corpus.budget import BudgetConfig, Route, html_shape
from corpus.document import Document, Page
from corpus.extract.images import find_images
from corpus.parse.charset import binary_reason, decode_html
from corpus.parse.http import mime_of
from corpus.stage import Stage
from schemas import RejectedRecord

HTML_MIMES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml")
SNIFF_MIMES = ("", "text/plain", "application/octet-stream", "application/unknown",
               "binary/octet-stream")
DEFAULT_SKIP_SELECTORS = (
    "nav", "footer", "aside",
    '[class*="breadcrumb"]', '[class*="crumb"]', '[class*="copyright"]', '[class*="sidebar"]',
    '[class*="footer"]', '[id*="footer"]', '[class*="topbar"]', '[id*="topbar"]',
    '[class*="comment"]', '[id*="comment"]', '[class*="related"]', '[class*="share"]',
    '[id*="share"]', '[class~="location"]', '[class~="editor"]', '[class~="meta"]',
    '[class~="vote"]', '[class~="tags"]', '[class~="ad"]', '[class~="ads"]',
    '[id="header"]', '[class~="header"]', '[class*="site-header"]', '[class*="blog-header"]',
)
_HTML_SNIFF = re.compile(rb"<\s*(?:!doctype\s+html|html|head|body|title|meta|div|p|table|br)\b",
                         re.IGNORECASE)
_JUNK_TAGS = ("script", "style", "noscript", "template")


@dataclass(frozen=True, kw_only=True)
class ExtractConfig:
    """Limits and rules of HTML extraction (``ExtractHTML``)."""

    max_page_bytes: int = 4 * 1024 * 1024  # larger bodies are rejected unparsed (page_too_large)
    ok_status: tuple[int, ...] = (200, 203)  # other HTTP statuses: http_status
    # main text with fewer non-space characters: no_main_text (what a navigation page leaves is a
    # heading or two; the paper's 15-character content rule stays with the cleaning stage)
    min_text_chars: int = 10
    skip_selectors: tuple[str, ...] = DEFAULT_SKIP_SELECTORS  # boilerplate besides resiliparse's
    form_max_text_share: float = 0.5  # a <form> with less of the page's text than this is removed
    # link lists: a list or table cell with at least this many links whose link text is at least
    # this share of its text is removed before main-content extraction (nav bars, "related")
    link_list_selector: str = "ul, ol, dl, td, th, menu"
    link_list_min_links: int = 5
    link_list_min_share: float = 0.6
    text_list_max_link_share: float = 0.3  # a <ul> with less link text is content: kept
    drop_title_line: bool = True  # drop the first text line when it repeats the title
    images: bool = True  # keep ImageRefs on the Document
    context_max_levels: int = 3  # DOM distance for an image's surrounding text (see images.py)
    context_max_chars: int = 300
    max_images_per_page: int = 200


def _lines(text: str) -> list[str]:
    return [ln for ln in (s.strip() for s in text.split("\n")) if ln]


def _chars(text: str) -> int:
    """Non-space characters in ``text``."""
    return len("".join(text.split()))


def _prepare_lists(root, cfg: ExtractConfig) -> None:
    """Remove lists and cells that are mostly links; unwrap ``<ul>`` lists of text.

    resiliparse's main-content rules drop every ``<ul>`` (and keep ``<ol>``), which loses bullet
    lists of content (a recipe's ingredients); a ``<ul>`` whose link text is under
    ``text_list_max_link_share`` is unwrapped so its items stay. Innermost first, so a removed
    node is never visited again."""
    for node in reversed(root.css(cfg.link_list_selector)):
        links = node.css("a")
        total = _chars(node.text())
        share = sum(_chars(a.text()) for a in links) / total if total else 0.0
        if len(links) >= cfg.link_list_min_links and share >= cfg.link_list_min_share:
            node.decompose()
        elif node.tag == "ul" and share < cfg.text_list_max_link_share:
            node.unwrap()


def _text_of(node) -> str:
    return " ".join(node.text(separator=" ").split()) if node is not None else ""


def _title(tree) -> str | None:
    """``<h1>`` when the ``<title>`` contains it (the title without the site's suffix), else
    ``og:title``, else ``<title>``, else the first ``<h1>``."""
    title = _text_of(tree.css_first("title"))
    h1 = _text_of(tree.body.css_first("h1")) if tree.body is not None else ""
    if h1 and title and h1 in title:
        return h1
    og = tree.css_first('meta[property="og:title"]')
    og_title = " ".join((og.attrs.get("content") or "").split()) if og is not None else ""
    return og_title or title or h1 or None


class ExtractHTML(Stage):
    """Page -> Document (title, main text, image refs) or RejectedRecord. Documents (from dumps)
    pass through unchanged."""

    name: ClassVar[str] = "extract"

    def __init__(self, config: ExtractConfig | None = None, budget: BudgetConfig | None = None):
        self.config = config or ExtractConfig()
        self.budget = budget or BudgetConfig()
        self._checked: Page | None = None  # the page ``precheck`` last passed (not re-scanned)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_checked": None}

    def precheck(self, record: Any) -> RejectedRecord | Route:
        """The structural budget (``corpus.budget``): a page over the depth or element limit is
        rejected here, unparsed; one near them is routed to the watchdog helper."""
        if not isinstance(record, Page):
            return Route.INLINE
        cfg, b, body = self.config, self.budget, record.body or b""
        if ((record.status is not None and record.status not in cfg.ok_status)
                or len(body) > cfg.max_page_bytes
                or mime_of(record.content_type) not in HTML_MIMES + SNIFF_MIMES):
            self._checked = record  # rejected by ``extract`` before any parsing, as before
            return Route.INLINE
        shape = html_shape(body, exact_below=min(b.html_helper_depth, b.html_max_depth))
        if shape.depth > b.html_max_depth:
            return self._reject(record, "too_deep", f"tags nest {shape.depth} deep > "
                                f"budget.html_max_depth={b.html_max_depth}")
        if shape.elements > b.html_max_elements:
            return self._reject(record, "too_many_elements", f"{shape.elements} elements > "
                                f"budget.html_max_elements={b.html_max_elements}")
        if shape.depth > b.html_helper_depth or shape.elements > b.html_helper_elements:
            return Route.HELPER  # processed by another copy of this stage, in the helper
        self._checked = record
        return Route.INLINE

    def _reject(self, page: Page, reason: str, detail: str, *, text: str | None = None,
                title: str | None = None) -> RejectedRecord:
        return RejectedRecord(
            id=page.id, source=page.source, kind="page", stage=self.name, reason=reason,
            detail=detail, url=page.url, title=title, text=text, input_file=page.input_file,
            offset=page.offset)

    def process(self, record: Any) -> Iterator[Any]:
        if not isinstance(record, Page):
            yield record
            return
        checked, self._checked = self._checked, None
        if checked is not record:  # not run through ``corpus.budget.BudgetedStage``
            route = self.precheck(record)
            self._checked = None
            if isinstance(route, RejectedRecord):
                yield route
                return
        try:
            yield self.extract(record)
        except Exception as e:  # a parser bug on one page must not end the job
            yield self._reject(record, "extract_error", f"{type(e).__name__}: {e}")

    def extract(self, page: Page) -> Document | RejectedRecord:
        from resiliparse.extract.html2text import extract_plain_text
        from selectolax.lexbor import LexborHTMLParser

        cfg = self.config
        if page.status is not None and page.status not in cfg.ok_status:
            return self._reject(page, "http_status", f"HTTP {page.status}")
        mime = mime_of(page.content_type)
        body = page.body or b""
        if mime not in HTML_MIMES and mime not in SNIFF_MIMES:
            return self._reject(page, "not_html", f"Content-Type {page.content_type!r}")
        if len(body) > cfg.max_page_bytes:
            return self._reject(page, "page_too_large",
                                f"{len(body)} bytes > max_page_bytes={cfg.max_page_bytes}")
        if not body.strip():
            return self._reject(page, "empty_page", f"{len(body)} bytes, all blank")
        why = binary_reason(body)
        if why:
            return self._reject(page, "binary_content",
                                f"{why}; served as {page.content_type or 'no Content-Type'}")
        if mime in SNIFF_MIMES and not _HTML_SNIFF.search(body, 0, 4096):
            return self._reject(page, "not_html", f"Content-Type {page.content_type!r} and no "
                                "HTML tags in the first 4096 bytes")
        decoded = decode_html(body, page.http_charset)
        tree = LexborHTMLParser(decoded.text)
        tree.strip_tags(list(_JUNK_TAGS))
        root = tree.body
        title = _title(tree)
        visible = root.text(separator="\n") if root is not None else ""
        if not visible.strip():
            return self._reject(page, "empty_page", "no visible text in <body>", title=title)
        images = (find_images(tree, page.url, max_levels=cfg.context_max_levels,
                              max_chars=cfg.context_max_chars,
                              max_images=cfg.max_images_per_page) if cfg.images else [])
        limit = cfg.form_max_text_share * len(visible)
        for form in reversed(root.css("form")):
            if len(form.text(separator="\n")) < limit:
                form.decompose()
        _prepare_lists(root, cfg)
        text = extract_plain_text(tree.html, main_content=True, preserve_formatting=True,
                                  list_bullets=False, alt_texts=False,
                                  skip_elements=list(cfg.skip_selectors))
        lines = _lines(text)
        if cfg.drop_title_line and title and title in lines[:3]:
            lines.remove(title)
        main = "\n".join(lines)
        if _chars(main) < cfg.min_text_chars:
            return self._reject(page, "no_main_text", "nothing left after boilerplate removal "
                                f"({len(_lines(visible))} visible lines were all boilerplate)",
                                text="\n".join(_lines(visible)), title=title)
        return Document(
            id=page.id, source=page.source, text=main, url=page.url, title=title,
            input_file=page.input_file, offset=page.offset, crawl_date=page.crawl_date,
            images=images,
        )
