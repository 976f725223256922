"""Image listings: JSON lines of (image, text, source), the e-commerce input of M6-Corpus.

The paper's e-commerce data (Table 3; section 4.1 "product titles and images") arrives as a list
of products, not as crawled pages. One line is one pair::

    {"image": "images/teapot.jpg", "text": "宜兴紫砂壶 手工原矿朱泥 西施壶 220ml",
     "source": "ecommerce", "url": "https://shop.example.com/item/42", "title": "紫砂壶"}

* ``image`` (or ``image_url`` / ``image_path``): an http(s) URL, or a file path, absolute or
  relative to the listing file's folder (any fsspec URL works: ``s3://``, ``gs://``, ``file://``);
* ``text`` (or ``description``; ``title`` when there is no text): the pair text;
* ``source``: optional, ``ecommerce`` by default; must be an image-text source
  (encyclopedia, webpage, ecommerce);
* ``url``, ``title``, ``id``: optional; ``id`` keys the row id, else the line number does.

Bad lines become rejected rows with reason ``bad_json``, ``no_image``, ``no_text`` or
``bad_source``; the rest of the file is still read. File images are read by ``load_file``
(``file_not_found``, ``file_too_large``); URLs go to the download stage (or are rejected with
``download_off`` when downloading is off).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any, ClassVar

import fsspec

from corpus.images.records import ImagePair, pair_id
from corpus.parse.jsonl import loads_limited
from corpus.stage import Stage
from schemas import IMAGE_TEXT_SOURCES, RejectedRecord, make_id

IMAGE_KEYS = ("image", "image_url", "image_path")
TEXT_KEYS = ("text", "description", "title")


def is_url(ref: str) -> bool:
    return ref.lower().startswith(("http://", "https://"))


def resolve(ref: str, listing_path: str) -> str:
    """A listing's image reference made absolute against the listing file's folder."""
    if is_url(ref) or "://" in ref or ref.startswith("/"):
        return ref
    return posixpath.join(posixpath.dirname(listing_path), ref)


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for k in keys:
        v = obj.get(k)
        if isinstance(v, str) and v.strip():
            return v.strip()
    return None


def parse_line(line: str, lineno: int, path: str) -> ImagePair | RejectedRecord | None:
    """One listing line -> a pair, a rejected row, or None for a blank line."""
    if not line.strip():
        return None
    rid = make_id("ecommerce", f"{path}:{lineno}")

    def bad(reason: str, detail: str, source: str = "ecommerce") -> RejectedRecord:
        return RejectedRecord(id=rid, source=source if source in IMAGE_TEXT_SOURCES else "unknown",
                              kind="image_text", stage="read_listing", reason=reason,
                              detail=detail, text=line[:2000], input_file=path, offset=lineno)

    try:
        obj = loads_limited(line)  # depth and size limits: a bracket bomb is one bad line
    except ValueError as e:
        return bad("bad_json", f"line {lineno}: {e}")
    if not isinstance(obj, dict):
        return bad("bad_json", f"line {lineno}: a JSON {type(obj).__name__}, not an object")
    source = obj.get("source") or "ecommerce"
    if source not in IMAGE_TEXT_SOURCES:
        return bad("bad_source", f"line {lineno}: source {source!r} is not one of "
                                 f"{', '.join(IMAGE_TEXT_SOURCES)}", "unknown")
    image = _first(obj, IMAGE_KEYS)
    if image is None:
        return bad("no_image", f"line {lineno}: none of {IMAGE_KEYS}", source)
    text = _first(obj, TEXT_KEYS)
    if text is None:
        return bad("no_text", f"line {lineno}: none of {TEXT_KEYS}", source)
    page = obj.get("url") if isinstance(obj.get("url"), str) else None
    title = obj.get("title") if isinstance(obj.get("title"), str) else None
    key = str(obj["id"]) if obj.get("id") is not None else None
    target = resolve(image, path)
    return ImagePair(
        id=make_id(source, key) if key else pair_id(source, page, image, lineno),
        source=source, text=text, url=page, title=title,
        image_url=target if is_url(target) else None,
        image_path=None if is_url(target) else target,
        input_file=path, offset=lineno, from_listing=True,
    )


class ReadListingFile(Stage):
    """Path of a JSONL listing -> ``ImagePair``s and rejected rows."""

    name: ClassVar[str] = "read_listing"

    def process(self, path: str) -> Iterator[Any]:
        try:
            with fsspec.open(path, "rt", compression="infer", encoding="utf-8",
                             errors="replace") as f:
                for lineno, line in enumerate(f, start=1):
                    try:
                        out = parse_line(line, lineno, path)
                    except Exception as e:  # noqa: BLE001 - one line never loses the file
                        out = RejectedRecord(
                            id=make_id("ecommerce", f"{path}:{lineno}"), source="unknown",
                            kind="image_text", stage=self.name,
                            reason=f"error:{type(e).__name__}", detail=f"line {lineno}: {e}",
                            input_file=path, offset=lineno)
                    if out is not None:
                        yield out
        except OSError as e:
            yield RejectedRecord(id=make_id("unknown", path), source="unknown", kind="record",
                                 stage=self.name, reason="unreadable_file",
                                 detail=f"{type(e).__name__}: {e}", input_file=path)


def load_file(path: str, max_bytes: int) -> tuple[bytes | None, str]:
    """``(bytes, "ok")`` of a listing's image file, or ``(None, reason)``."""
    try:
        fs, p = fsspec.core.url_to_fs(path)
        size = fs.size(p)
        if size is not None and size > max_bytes:
            return None, "file_too_large"
        with fs.open(p, "rb") as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        return None, "file_not_found"
    except OSError:
        return None, "file_unreadable"
    if len(data) > max_bytes:
        return None, "file_too_large"
    return data, "ok"
