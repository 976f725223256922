"""Documents spilled by the worker that made them, so that ``DedupText``'s one shuffle of documents
(``ByNode``) carries a reference to each, not its bytes (issue 17.2).

Why: ``ByNode`` groups every document of a run by its node (its id). On Beam's FnApiRunner that
group is held and handed on by the runner's one process: on the 50,000-page crawl 93 MB of packed
documents went from the workers to the runner and back, and with two workers the runner's
sending of the grouped documents was the longest stretch in which a worker waited (about 1.5 s
of a 32 s run; ``bench/scale.py --stage-times``). A reference is about 150 bytes.

How: ``KeySpilled`` (the ``Key`` step of ``DedupText``, fused into the per-document stage) packs
and encodes each document (``pipelines.opaque``), keeps them until it holds ``FLUSH_BYTES``, then
writes them as one file of the spill folder (``pipelines.spill``, named by a hash of its bytes)
and emits ``(node key, Ref)``: the file, the document's byte range in it, and its input file and
offset, which place the node (``survivor.first_placed``) without reading the document. The last
documents of a bundle are written in ``finish_bundle``. ``rank_refs`` ranks a node: one document
needs no reading; a node with several (the same id twice, rare) reads them to sort them by text.
``load_docs`` reads a batch's documents back in the batch's order, each file opened once.

Only on runners that deliver ``finish_bundle`` output (``pipelines.batches``: not the DaskRunner of
Beam 2.77), and only with a spill folder; elsewhere ``DedupText`` keys the encoded documents
themselves. A value of ``ByNode`` is either: encoded bytes (a document of an earlier corpus,
``ReadExisting``) or a ``Ref`` (a tuple).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from corpus.dedup.packed import DOC_FIELDS, Packed, pack
from corpus.dedup.survivor import first_placed, node_key
from corpus.dedup.vertices import rank_group
from pipelines.opaque import decode, encode
from pipelines.spill import spill_bytes

# Documents a worker holds before it writes them: a few MB, so the files are few and the memory
# small (about 1,800 documents of the benchmark's crawl).
FLUSH_BYTES = 4 << 20

# (spill file, start, length, input file, offset): where a packed, encoded document lies
Ref = tuple
REF_FIELDS = 5
if len(DOC_FIELDS) == REF_FIELDS:  # a packed document is a tuple too, of every Document field
    raise ImportError("a packed document must not be as wide as a Ref: widen Ref")


def is_ref(value: Any) -> bool:
    """Whether a value is a ``Ref`` (else: a document, encoded before ``ByNode``, packed after
    ``rank_refs``)."""
    return type(value) is tuple and len(value) == REF_FIELDS


class KeySpilled(beam.DoFn):
    """Documents -> (node key, ``Ref``), the documents written in files of ``folder`` of about
    ``FLUSH_BYTES`` each."""

    def __init__(self, source_priority: Sequence[str], folder: str,
                 flush_bytes: int = FLUSH_BYTES):
        self.priority = tuple(source_priority)
        self.folder = folder
        self.flush_bytes = flush_bytes

    def start_bundle(self):
        self._pending: list[tuple[str, bytes, str | None, int | None]] = []
        self._size = 0

    def process(self, doc):
        data = encode(pack(doc))
        self._pending.append((node_key(doc.id, doc.source, source_priority=self.priority), data,
                              doc.input_file, doc.offset))
        self._size += len(data)
        if self._size >= self.flush_bytes:
            yield from self._flush()

    def finish_bundle(self):
        for item in self._flush():
            yield WindowedValue(item, MIN_TIMESTAMP, (GlobalWindow(),))

    def _flush(self):
        pending, self._pending, self._size = self._pending, [], 0
        if not pending:
            return
        path = spill_bytes(self.folder, "bynode", b"".join(data for _, data, _, _ in pending))
        start = 0
        for key, data, input_file, offset in pending:
            yield (key, (path, start, len(data), input_file, offset))
            start += len(data)


def load_docs(values: Sequence[bytes | Ref]) -> list[Packed]:
    """The packed documents that ``values`` (``ByNode``'s: encoded documents or ``Ref``s) stand
    for, in order; each spill file is opened once and read in the order of its ranges."""
    out: list[Any] = [None] * len(values)
    by_path: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for i, value in enumerate(values):
        if is_ref(value):
            by_path[value[0]].append((value[1], value[2], i))
        else:
            out[i] = decode(value)
    for path, ranges in by_path.items():
        ranges.sort()
        with FileSystems.open(path) as f:
            for start, length, i in ranges:
                f.seek(start)
                out[i] = decode(f.read(length))
    return out


def rank_refs(group: tuple[str, Iterable[bytes | Ref]], ranks
              ) -> tuple[str, list[bytes | Ref | Packed]]:
    """``vertices.rank_group`` of a ``ByNode`` group whose values may be ``Ref``s: a node of one
    ``Ref`` is placed by the input file and offset it carries and stays a reference; any other
    node is read (``load_docs``) and ranked by its documents, which then travel packed."""
    node, values = group[0], list(group[1])
    if len(values) == 1 and is_ref(values[0]):
        ref = values[0]
        if ranks:
            node = first_placed(node, ranks, [(ref[3], ref[4])])
        return node, values
    return rank_group((node, load_docs(values)), ranks)


def resolve_docs(items: Sequence[Ref | Packed]) -> list[Packed]:
    """Ranked items (``rank_refs``: ``Ref``s and packed documents) as packed documents, in
    order; the ``Ref``s read with ``load_docs``."""
    out = list(items)
    refs = [i for i, item in enumerate(out) if is_ref(item)]
    for i, doc in zip(refs, load_docs([out[i] for i in refs])):
        out[i] = doc
    return out


__all__ = ["FLUSH_BYTES", "REF_FIELDS", "KeySpilled", "Ref", "is_ref", "load_docs", "rank_refs",
           "resolve_docs"]
