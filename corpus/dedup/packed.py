"""Documents as plain tuples for the dedup shuffles: a ``Document`` in, the equal ``Document`` out.

Why: Beam's coders write str, bytes, int, float, None, tuples and lists natively (compiled code),
but pickle any other object, one ``pickle.dumps`` per document per hop; and the runner's size
sampling encodes sampled elements again, which for a batch of documents means every document.
Measured on ``bench/bench_dedup.py``'s 10,000 documents, pickling was about ten calls per
document and a fifth of ``DedupText``'s CPU (issue 17.2). A packed document costs none of that.

The tuple holds every ``__init__`` field of ``Document`` in declaration order; ``images`` become
tuples of ``ImageRef`` fields and ``quality`` a tuple of ``Quality`` fields. ``unpack`` rebuilds
an equal document (the ``_shares`` memo is not carried: it is recomputed on use). A field of a
type this module does not know is refused with a ``TypeError`` naming it, never dropped.
"""

from __future__ import annotations

import dataclasses
import operator

from corpus.document import Document, ImageRef
from schemas.records import QUALITY_FIELDS, Quality, quality_values

_PLAIN = frozenset({str, int, float, bool, type(None), bytes})
_DOC_FIELDS = tuple(f.name for f in dataclasses.fields(Document) if f.init)
DOC_FIELDS = _DOC_FIELDS  # a packed document's width: len(DOC_FIELDS)
_IMAGE_FIELDS = tuple(f.name for f in dataclasses.fields(ImageRef) if f.init)
_INDEX = {name: i for i, name in enumerate(_DOC_FIELDS)}
_IMAGES = _INDEX["images"]
_QUALITY = _INDEX["quality"]
# one C call per object instead of a getattr per field: packing is on every document's path
_DOC_GET = operator.attrgetter(*_DOC_FIELDS)
_IMAGE_GET = operator.attrgetter(*_IMAGE_FIELDS)
_SCALAR_FIELDS = tuple(n for n in _DOC_FIELDS if n not in ("images", "quality"))
_SCALAR_GET = operator.attrgetter(*_SCALAR_FIELDS)
TEXT = _INDEX["text"]
URL = _INDEX["url"]
INPUT_FILE = _INDEX["input_file"]
OFFSET = _INDEX["offset"]

Packed = tuple


def _check(where: str, names: tuple[str, ...], values: tuple) -> tuple:
    """``values`` if every one is plain data; else a TypeError naming the first that is not."""
    if not _PLAIN.issuperset(map(type, values)):
        for name, value in zip(names, values):
            if type(value) not in _PLAIN:
                raise TypeError(f"corpus.dedup.packed cannot carry {where}{name} of type "
                                f"{type(value).__name__}; teach pack/unpack this field")
    return values


def pack(doc: Document) -> Packed:
    """The tuple form of ``doc``."""
    values = list(_DOC_GET(doc))
    values[_IMAGES] = tuple(_check("Document.images.", _IMAGE_FIELDS, _IMAGE_GET(img))
                            for img in values[_IMAGES])
    values[_QUALITY] = _check("Document.quality.", QUALITY_FIELDS, quality_values(values[_QUALITY]))
    _check("Document.", _SCALAR_FIELDS, _SCALAR_GET(doc))
    return tuple(values)


def unpack(packed: Packed) -> Document:
    """The ``Document`` that ``pack`` was given (equal field by field). Fields are passed by
    position: ``pack`` wrote them in declaration order."""
    values = list(packed)
    values[_IMAGES] = [ImageRef(*img) for img in values[_IMAGES]]
    values[_QUALITY] = Quality(*values[_QUALITY])
    return Document(*values)


def member_order(key: str, packed: Packed) -> tuple:
    """``survivor.member_order((key, unpack(packed)))`` without unpacking."""
    return (key, packed[TEXT] or "", packed[URL] or "", packed[INPUT_FILE] or "",
            packed[OFFSET] or -1)


__all__ = ["DOC_FIELDS", "Packed", "TEXT", "URL", "member_order", "pack", "unpack"]
