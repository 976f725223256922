"""``DedupEarlier``: drop the documents of this batch that repeat a document kept by an earlier
batch of the same run (``corpus.dedup.index``; ``pipelines/batch_run.py`` runs the batches).

It runs before ``DedupText``, which then removes the duplicates inside the batch, so the corpus
of all batches keeps one document per URL, text and near-duplicate group, as one run would (the
kept copy is the earliest batch's, where one run keeps the smallest node key; docs/dedup.md,
"Batches"). A document dropped here as a near copy of an earlier one also goes on to
``DedupText`` as a *shadow*: an existing-tier document (``--dedup-against``'s tier) with its text
and URL and the id it was dropped for, which never reaches the output. A document of this batch
near the dropped one, but near nothing earlier, then falls in the shadow's component and is
dropped for the same earlier document, as one pipeline's connected components would do.
 ``DedupEarlierImages`` does the same for image-text rows before ``DedupImages``
(``corpus.dedup.index_images``). Documents are checked in lists (``pipelines.batches``) so the hashing and the index
lookups are vectorised; each document's verdict depends on that document only.
"""

from __future__ import annotations

from collections.abc import Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics

from corpus.dedup.config import DedupConfig
from corpus.dedup.images import phash_int, sha256_of
from corpus.dedup.index import EarlierIndex
from corpus.dedup.index_images import EarlierImages
from corpus.dedup.survivor import reject
from corpus.document import Document
from pipelines.batches import Batches
from pipelines.stage_dofn import REJECTED
from pipelines.tagged import ParDoTags, tag

_KEPT = "kept"
_SHADOW = "shadow"
STAGE = "dedup"


def text_parts(parts: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"{p}/text" for p in parts)


def image_parts(parts: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"{p}/images" for p in parts)


class _Counting(beam.DoFn):
    def _count(self, reason: str):
        if reason not in self._counters:
            self._counters[reason] = Metrics.counter("m6.dedup", reason)
        self._counters[reason].inc()


class _CheckEarlier(_Counting):
    def __init__(self, cfg: DedupConfig, parts: Sequence[str]):
        self.cfg = cfg
        self.parts = tuple(parts)

    def setup(self):
        self._index = EarlierIndex(text_parts(self.parts), self.cfg)
        self._counters = {}

    def process(self, docs):
        verdicts = self._index.check([(d.url, d.text) for d in docs])
        for doc, verdict in zip(docs, verdicts):
            if verdict is None:
                yield tag(_KEPT, doc)
                continue
            self._count(verdict.reason)
            yield tag(REJECTED, doc.reject(STAGE, verdict.reason, score=verdict.score,
                                           duplicate_of=verdict.duplicate_of))
            # URL and exact copies need no shadow: one pipeline drops them before its
            # near-duplicate graph, and an exact copy's text is the earlier one's
            if verdict.reason == "near_duplicate":
                yield tag(_SHADOW, shadow(doc, verdict.duplicate_of))


def shadow(doc: Document, duplicate_of: str) -> Document:
    """The stand-in of a document dropped as a near copy of ``duplicate_of`` in the batch's own
    dedup: that id, this text and URL (``DedupText(existing=...)`` keys it as existing)."""
    return Document(id=duplicate_of, source=doc.source, text=doc.text, url=doc.url)


class _CheckEarlierImages(_Counting):
    def __init__(self, cfg: DedupConfig, parts: Sequence[str]):
        self.cfg = cfg
        self.parts = tuple(parts)

    def setup(self):
        self._index = EarlierImages(image_parts(self.parts), self.cfg)
        self._counters = {}

    def process(self, row):
        (verdict,) = self._index.check([(sha256_of(row), phash_int(row))])
        if verdict is None:
            yield tag(_KEPT, row)
        else:
            self._count(verdict.reason)
            yield tag(REJECTED, reject(row, verdict.reason, verdict.duplicate_of, verdict.score))


class DedupEarlierImages(beam.PTransform):
    """``pairs | DedupEarlierImages(cfg, parts)`` -> ``(kept, rejected)``: image-text rows whose
    image repeats one kept by an earlier batch are rejected."""

    def __init__(self, cfg: DedupConfig, parts: Sequence[str], label: str | None = None):
        super().__init__(label)
        self.cfg = cfg
        self.parts = tuple(parts)

    def expand(self, rows):
        out = rows | "Check" >> ParDoTags(_CheckEarlierImages(self.cfg, self.parts),
                                          (_KEPT, REJECTED))
        return out[_KEPT], out[REJECTED]


class DedupEarlier(beam.PTransform):
    """``docs | DedupEarlier(cfg, parts)`` -> ``(kept, rejected, shadows)``; no parts: every
    document is kept, unchanged. ``shadows`` go to ``DedupText(existing=shadows)``."""

    def __init__(self, cfg: DedupConfig, parts: Sequence[str], label: str | None = None):
        super().__init__(label)
        self.cfg = cfg
        self.parts = tuple(parts)

    def expand(self, docs):
        out = (docs | "Batch" >> Batches(self.cfg.minhash.batch_size, key=lambda d: d.id)
               | "Check" >> ParDoTags(_CheckEarlier(self.cfg, self.parts),
                                      (_KEPT, REJECTED, _SHADOW)))
        return out[_KEPT], out[REJECTED], out[_SHADOW]


__all__ = ["DedupEarlier", "DedupEarlierImages", "image_parts", "shadow", "text_parts"]
