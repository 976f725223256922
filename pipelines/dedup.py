"""``DedupText``: URL, exact and near duplicates of documents in Beam, with the documents shuffled
once and the dedup steps run on small records.

Every step is a pure function of ``corpus.dedup`` run per key after a ``GroupByKey``; no step
collects the documents on one worker, only the component step collects the verified edges (about
one per near duplicate, ``_Components``), and nothing uses side inputs:

    DedupText
      ReadExisting   --dedup-against outputs: their text shards, as documents of tier 0
                     (``pipelines/dedup_against.py``)
      ByNode         GroupByKey(node key) -> the node's documents in survivor order (rank)
      Batch          batches of nodes; a batch id names each batch, a vertex each document
      Prepare        per batch, once: normal form -> exact key; URL key; vectorised MinHash
                     -> records (vertex, URL key, exact key, signature), packed per partition
      Url            GroupByKey(partition of URL keys) -> smallest vertex per key -> url_duplicate
                     (a record without a URL passes; each step reads one step's output)
      Exact          GroupByKey(partition of exact keys) -> likewise        -> exact_duplicate
      Buckets        GroupByKey(partition of band keys) -> buckets by np.unique -> candidate
                     pairs, as lists per batch they go to
      Verify         GroupByKey(batch: its normal texts and signatures, requests for its
                     anchors, its pairs) -> anchors' texts sent once to each batch holding a
                     partner, the batch's own ends and pairs to itself (JoinEnds);
                     GroupByKey(batch of the larger end: its ends, the anchors', its pairs)
                     -> estimate prefilter, exact n-gram Jaccard >= threshold
      Components     GroupByKey(all verified edges) -> union-find -> component survivors
      Apply          CoGroupByKey(batch: documents, URL/exact verdicts, near verdicts)
                     -> kept | rejected

With ``spill`` (what ``m6 corpus`` passes), ``Key`` writes the documents to files where they are
made and ``ByNode`` groups references to them (``pipelines.dedup_refs``, on runners that deliver
``finish_bundle`` output), and ``Prepare`` writes each batch's documents and normal texts to a
file (``pipelines.spill``) and the join and ``JoinEnds`` get its path: Beam's in-process runner
holds every group in its one process and copies every element of a ``Flatten`` before a
``GroupByKey``, and those were the documents and the texts.

Why this shape (issue 17.2, ``docs/dedup.md``): on Beam's runners the cost of dedup was the
per-element and per-pickled-document cost of five shuffles of whole documents (URL, exact,
batching, text join, survivor join), not the dedup work, and the in-process runner holds every
shuffle's input in memory. Here whole documents, as plain tuples (``corpus.dedup.packed``), are
shuffled once by node (which also ranks documents with the same id, ``corpus.dedup.vertices``)
and rejoin their verdicts once, a batch at a time; the URL, exact and band steps move records many
to an element (about 600 bytes per document, nearly all of it the signature), candidate pairs
travel as lists per batch (with exact verification), and only verified edges travel one per
element.

DoFns with several outputs yield ``(tag, value)`` pairs split by ``pipelines.tagged`` and batches
come from ``pipelines.batches``, not ``TaggedOutput``/``BatchElements``, so every runner (the
DaskRunner too) gives the same rows.

``DedupText`` returns ``(kept, rejected)``; rejected rows carry ``duplicate_of`` and are counted
with ``Metrics.counter("m6.dedup", reason)``. ``corpus.dedup.local`` computes the same survivors
in memory (``tests/pipelines/test_dedup.py`` holds them together, on several runners and input
shardings). ``DedupImages`` (``pipelines/dedup_images.py``) is re-exported here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import apache_beam as beam
import numpy as np

from corpus.dedup.buckets import estimate_floor, normal_jaccard, packed_shingles
from corpus.dedup.components import components_by_union_find
from corpus.dedup.config import DedupConfig
from corpus.dedup.minhash import minhasher
from corpus.dedup.normalise import normalise_texts, normalise_url
from corpus.dedup.packed import TEXT, URL, pack, unpack
from corpus.dedup.partitions import band_hashes, candidate_pairs, chunks, partition_pairs
from corpus.dedup.survivor import file_ranks, is_existing, node_key
from corpus.dedup.vertices import (
    Record,
    apply_verdicts,
    batch_name,
    batch_of,
    by_batch,
    exact_key_of,
    partition,
    resolve,
    vertex,
)
from corpus.document import Document
from pipelines.batches import Batches, delivers_finish_bundle
from pipelines.dedup_against import ReadExisting
from pipelines.dedup_images import DedupImages
from pipelines.dedup_refs import KeySpilled, rank_refs, resolve_docs
from pipelines.dedup_steps import KEPT, NAMESPACE, Components, GroupDedup, counter
from pipelines.opaque import decode, encode
from pipelines.spill import load, spill
from pipelines.stage_dofn import REJECTED
from pipelines.tagged import ParDoTags, tag

_DOCS = "docs"
_TEXTS = "texts"
_ENDS = "ends"
_ANCHOR = "anchor"
_PAIRS = "pairs"
_JOIN = "join"  # (batch id, (_DOCS | _VERDICTS | _NEAR, value)): what the final group joins
_URL = "url"
_EXACT = "exact"
_BANDS = "bands"
_VERDICTS = "verdicts"
_NEAR = "near"
# Partitions of the band keys (corpus.dedup.partitions): the near-duplicate shuffle carries at most
# this many elements per batch of documents, and each partition's group holds about 1/64 of all
# band keys with their vertices (about 50 MB at 1,000,000 documents; 150 MB more when the
# signatures ride along, for verify="signature" or "none").
BUCKET_PARTITIONS = 64
# Partitions of the URL and exact keys: each group holds about 1/64 of the records (about 800 bytes
# each, 13 MB at 1,000,000 documents), and a batch sends at most this many elements to each step.
GROUP_PARTITIONS = 64


# ---------------------------------------------------------------- records

class _Router:
    """Sends records on to the next step that the config runs: the URL groups, the exact groups,
    or the band partitions (signed records).

    Every record goes through each step the config runs, a record without a URL key too (it
    passes the URL step unchanged, in the partition of its vertex): so each step's input comes
    from one step only, and ``DedupText`` needs no ``Flatten`` before the exact and band groups.
    Beam's in-process runner writes every input of a multi-input ``Flatten`` to a buffer and
    reads it back before the next ``GroupByKey`` writes it again (``sink_flattens`` in its
    ``translations.py``: "always materialize"); on 40,000 documents those copies were about a
    sixth of the 608 MB it moved (issue 17.2, ``docs/dedup.md``)."""

    def __init__(self, cfg: DedupConfig):
        self.cfg = cfg
        self.bands, self.rows = cfg.lsh_shape()

    def setup(self):
        self._signed = counter("signed")

    def after_url(self, records: Sequence[Record]) -> Iterator[tuple[str, Any]]:
        if self.cfg.exact:
            yield from self._partitioned(_EXACT, records, 2)
        else:
            yield from self.to_bands(records)

    def to_url(self, records: Sequence[Record]) -> Iterator[tuple[str, Any]]:
        if not self.cfg.url:
            yield from self.after_url(records)
            return
        yield from self._partitioned(_URL, records, 1)

    def _partitioned(self, name: str, records: Sequence[Record], field: int):
        parts: dict[int, list[Record]] = defaultdict(list)
        for rec in records:
            key = rec[field] if rec[field] is not None else rec[0]  # no key: its vertex's
            parts[partition(key, GROUP_PARTITIONS)].append(rec)
        for part, recs in parts.items():
            yield tag(name, (part, encode(recs)))  # pipelines.opaque: bytes to the runner

    def to_bands(self, records: Sequence[Record]) -> Iterator[tuple[str, Any]]:
        if not self.cfg.near:
            return
        signed = [r for r in records if r[3]]  # no shingles: nothing to be similar to
        self._signed.inc(len(signed))
        if not signed:
            return
        packed = b"".join(r[3] for r in signed)
        if self.cfg.verify == "exact":  # the records carry their band hashes (_Prepare)
            keys, sigs = np.frombuffer(packed, dtype="<u8"), None
        else:
            sigs = np.frombuffer(packed, dtype="<u4").reshape(len(signed), -1)
            keys = band_hashes(sigs, self.bands, self.rows)
        for part, chunk in chunks([r[0] for r in signed], keys, self.bands, BUCKET_PARTITIONS,
                                  sigs):
            yield tag(_BANDS, (part, encode(chunk, compress=True)))  # vertex names: half


class _Prepare(beam.DoFn):
    """A batch of (node, documents in rank order) -> ``docs``: (batch id, [(vertex, document)]),
    and each document's record sent on (``_Router``). Each document's keys and signature depend on
    that document only, not on the batch it came in; its normal form is computed once. With a
    spill folder the documents and the normal texts go to a file each and the shuffles carry
    its path (``pipelines.spill``); a document that came as a reference (``ByNode``,
    ``pipelines.dedup_refs``) goes on as that reference."""

    def __init__(self, cfg: DedupConfig, folder: str | None = None):
        self.cfg = cfg
        self.router = _Router(cfg)
        self.folder = folder  # the spill folder, or None: the lists travel in the shuffles

    def setup(self):
        self.router.setup()
        self._hasher = minhasher(self.cfg.minhash) if self.cfg.near else None

    def process(self, batch):
        cfg = self.cfg
        batch_id = batch_name(node for node, _ in batch)
        vertices = [vertex(node, rank, batch_id)
                    for node, group in batch for rank in range(len(group))]
        items = [doc for _, group in batch for doc in group]
        # the join gets the references as they are (``Apply`` reads them, ``resolve_docs``): a
        # document is written to a spill file once
        yield tag(_JOIN, (batch_id, (_DOCS, self._spilled(batch_id, _DOCS,
                                                           list(zip(vertices, items))))))
        docs = list(zip(vertices, resolve_docs(items)))
        # the normal form feeds the exact key and the signature: not needed for URLs alone
        normals = (normalise_texts([doc[TEXT] for _, doc in docs]) if cfg.exact or cfg.near
                   else [""] * len(docs))
        if self._hasher is not None:
            sigs = np.ascontiguousarray(self._hasher.signatures(normals, normalised=True),
                                        dtype="<u4")
            sig_bytes = [sigs[i].tobytes() if normals[i] else b"" for i in range(len(docs))]
            # with exact verification the band steps need only the band keys (8 bytes each,
            # not the 512-byte signature): the records cross three shuffles
            if cfg.verify == "exact":
                bands, rows = self.router.bands, self.router.rows
                keys = band_hashes(sigs, bands, rows).astype("<u8").reshape(len(docs), bands)
                band_bytes = [keys[i].tobytes() if normals[i] else b""
                              for i in range(len(docs))]
            else:
                band_bytes = sig_bytes
        else:
            sig_bytes = band_bytes = [b""] * len(docs)
        if cfg.near and cfg.verify == "exact":
            texts = [(v, n, sig) for (v, _), n, sig in zip(docs, normals, sig_bytes) if n]
            yield tag(_TEXTS, (batch_id, (_TEXTS, self._spilled(batch_id, _TEXTS, texts))))
        exact = ([exact_key_of(n) for n in normals] if cfg.exact else [None] * len(docs))
        urls = ([normalise_url(doc[URL]) if doc[URL] else None for _, doc in docs] if cfg.url
                else [None] * len(docs))
        records = [(v, u, e, b) for (v, _), u, e, b in zip(docs, urls, exact, band_bytes)]
        yield from self.router.to_url(records)

    def _spilled(self, batch_id: str, kind: str, values: list) -> list | str:
        """``values``, or the path of the file they were spilled to."""
        return values if self.folder is None else spill(self.folder, batch_id, kind, values)


def _unspilled(value: list | str) -> list:
    """A list that ``_Prepare`` sent, read back from its file if it was spilled."""
    return load(value) if isinstance(value, str) else value


class _Resolve(beam.DoFn):
    """(partition, record lists) of the URL or exact step -> ``verdicts``: (batch id, rejections)
    for the losers of each group, and the survivors' records sent on."""

    def __init__(self, cfg: DedupConfig, step: str):
        self.step = step
        self.field = 1 if step == _URL else 2
        self.reason = "url_duplicate" if step == _URL else "exact_duplicate"
        self.router = _Router(cfg)

    def setup(self):
        self.router.setup()
        self._rejected = counter(self.reason)

    def process(self, group):
        records = [rec for recs in group[1] for rec in decode(recs)]
        survivors, verdicts = resolve([r for r in records if r[self.field] is not None],
                                      self.field, self.reason)
        survivors.extend(r for r in records if r[self.field] is None)  # no key: passes
        self._rejected.inc(len(verdicts))
        for batch_id, vs in by_batch(verdicts):
            yield tag(_JOIN, (batch_id, (_VERDICTS, vs)))
        if self.step == _URL:
            yield from self.router.after_url(survivors)
        else:
            yield from self.router.to_bands(survivors)


# ---------------------------------------------------------------- near duplicates

class _Pairs(beam.DoFn):
    """(partition, chunks) -> ((a, b), estimate) for the candidate pairs of its buckets. With
    exact verification the chunks carry no signatures and the estimate is taken in
    ``_CheckExact``: the partition's distinct pairs are then sent as lists, one element per
    batch they go to (``_route_pairs``), not one per pair."""

    def __init__(self, cfg: DedupConfig):
        self.cfg = cfg

    def process(self, group):
        cfg = self.cfg
        chunks = (decode(chunk) for chunk in group[1])
        if cfg.verify == "exact":
            # a pair shares several bands, often in the same partition
            yield from _route_pairs(set(candidate_pairs(chunks,
                                                        max_pairs=cfg.max_bucket_pairs)))
            return
        for a, b, est in partition_pairs(chunks,
                                         num_perm=cfg.minhash.num_perm, threshold=cfg.threshold,
                                         verify=cfg.verify, max_pairs=cfg.max_bucket_pairs):
            yield ((a, b), est)


def _route_pairs(pairs: set[tuple[str, str]]) -> Iterator[tuple[str, Any]]:
    """Distinct candidate pairs (a, b) -> (batch of b, (pairs, [(a, b), ...])), each pair
    verified in the batch of its larger end, where that end's text already is; and (batch of a,
    (ends, [(a, batch of b), ...])), the text of ``a`` (the smaller end, one of a bucket's at
    most ``max_bucket_pairs`` anchors) wanted in the batch of ``b``. Both go to the batch's
    first group (``_send_ends``).

    Why lists (issue 17.2): there are about three candidate pairs per document, and each element
    costs the runner several steps of per-element work (a combine, two maps, two shuffles); sent
    per pair, they were the largest share of ``DedupText``'s runner overhead. A pair found in
    several partitions still comes more than once; ``_CheckExact`` and ``_send_ends`` take
    each once."""
    to_check: dict[str, list] = defaultdict(list)
    wanted: dict[str, set] = defaultdict(set)
    for a, b in sorted(pairs):
        target = batch_of(b)
        to_check[target].append((a, b))
        wanted[batch_of(a)].add((a, target))
    for target, found in to_check.items():
        yield (target, (_PAIRS, encode(found, compress=True)))
    for source, requests in wanted.items():
        yield (source, (_ENDS, encode(sorted(requests))))


def _send_ends(kv):
    """(batch, tagged [texts of the batch, lists of requests (a, target batch), lists of pairs
    (a, b) with b in the batch]) -> what the batch's verification group needs, each text once:

    * (target batch, (anchor, [(a, normal text of a, signature of a), ...])): an anchor's text
      travels once to each batch that holds a partner of it, not once per pair, and the anchors
      for one batch as one element;
    * (batch, (texts, [the texts of its ends b])) and (batch, (pairs, its pairs)): of the
      batch's texts only those that are the larger end of a candidate pair go on, not all of
      them a second time (issue 17.2: the texts were the most bytes the runner moved, and most
      documents are in no pair).

    The pairs come through here, not straight to the check, so that the check's group reads
    this step's output alone: no ``Flatten`` before it, which Beam's in-process runner would
    copy once more (``_Router``)."""
    signed: dict[str, tuple] = {}
    wanted = set()
    pairs: list[tuple[str, str]] = []
    for kind, value in kv[1]:
        if kind == _TEXTS:
            signed.update((t[0], t) for t in _unspilled(value))
        elif kind == _ENDS:
            wanted.update(decode(value))
        else:
            pairs.extend(decode(value))
    to_send: dict[str, list] = defaultdict(list)
    for a, target in sorted(wanted):
        end = signed.get(a)
        if end is not None:
            to_send[target].append(end)
    for target, ends in to_send.items():
        yield (target, (_ANCHOR, encode(ends)))
    if pairs:
        own = sorted({b for _, b in pairs})
        yield (kv[0], (_TEXTS, encode([signed[b] for b in own if b in signed])))
        yield (kv[0], (_PAIRS, encode(pairs)))


class _CheckExact(beam.DoFn):
    """(batch, tagged [the batch's (vertex, text, signature), anchors' (vertex, text,
    signature), lists of pairs (a, b) with b in the batch]) -> (0, [((a, b), J), ...]): the
    pairs whose signature estimate passes ``buckets.estimate_floor`` (what ``bucket_pairs``
    checks before a pair becomes a candidate) and whose exact n-gram Jaccard similarity J reaches
    the threshold, as one list per batch.

    Why per batch (issue 17.1): a pair used to meet its two texts in a group of its own, so each
    text crossed the shuffle once per pair. A bucket of n pages that share a paragraph gives up
    to ``max_bucket_pairs`` x n pairs: on the 1,000,000-page crawl, one batch of 95,000 pages
    held 10.9 GB at that step. Here a batch's texts come once, an anchor's once per batch, and
    each text's n-grams are packed once per group."""

    def __init__(self, cfg: DedupConfig):
        self.cfg = cfg

    def setup(self):
        self._dropped = counter("candidates_below_threshold")
        self._floor = estimate_floor(self.cfg.threshold, self.cfg.verify)

    def process(self, kv):
        ends: dict[str, tuple] = {}
        pairs = []
        for kind, value in kv[1]:
            if kind == _PAIRS:
                pairs.extend(decode(value))
            else:  # the batch's own ends (texts) or the anchors sent to it
                for end in decode(value):
                    ends.setdefault(end[0], end)
        ngram, threshold = self.cfg.minhash.ngram, self.cfg.threshold
        packed: dict[str, np.ndarray | None] = {}
        edges = []
        for a, b in sorted(set(pairs)):  # a pair found in two partitions comes twice
            if a not in ends or b not in ends:
                continue
            (_, text_a, sig_a), (_, text_b, sig_b) = ends[a], ends[b]
            est = (np.frombuffer(sig_a, dtype="<u4") == np.frombuffer(sig_b, dtype="<u4")).mean()
            if est < self._floor:
                continue  # never a candidate: bucket_pairs drops it before verification
            for v, text in ((a, text_a), (b, text_b)):
                if v not in packed:
                    packed[v] = packed_shingles(text, ngram)
            j = normal_jaccard(text_a, text_b, ngram, packed_a=packed[a], packed_b=packed[b])
            if j >= threshold:
                edges.append(((a, b), j))
            else:
                self._dropped.inc()
        if edges:
            yield (0, edges)  # one group: the whole graph (_Components)


class _Components(beam.DoFn):
    """(0, lists of verified edges ((a, b), similarity)) -> (batch, (near, [(vertex, component
    survivor, best similarity)])) for every vertex that is not the smallest of its component.

    The whole edge list is one group (key 0): near-duplicate components are tiny (a page and its
    copies), so the edges are about one per rejected document (about 100 bytes each: 100 MB at
    1,000,000 near duplicates) and union-find labels them exactly in one pass. Star rounds
    (``corpus.dedup.components``) would never hold the graph in one place, but cost two
    shuffles a round and, after too few rounds, keep some duplicates; on the benchmark they were
    most of the near-duplicate step's stages (``docs/dedup.md``). ``DedupImages`` labels its
    edges the same way (``dedup_steps.Components``)."""

    def process(self, kv):
        best: dict[str, float] = {}
        pairs = []
        for edges in kv[1]:
            for (a, b), sim in edges:
                pairs.append((a, b))
                best[a] = max(best.get(a, sim), sim)
                best[b] = max(best.get(b, sim), sim)
        root = components_by_union_find(pairs)
        for batch_id, found in by_batch([(v, r, best[v]) for v, r in root.items() if r != v]):
            yield (batch_id, (_NEAR, found))


def _in_graph(edge):
    return (0, [edge])


def _near_edges(bands, texts, cfg: DedupConfig):
    """Verified near-duplicate edges (0, [((a, b), similarity), ...]) from the band chunks: key
    0 puts them in one group for ``_Components``."""
    found = (bands
             | "Buckets" >> beam.GroupByKey()
             | "Pairs" >> beam.ParDo(_Pairs(cfg)))
    if cfg.verify != "exact":
        return (found | "DistinctPairs" >> beam.CombinePerKey(max)
                | "ToGraph" >> beam.Map(_in_graph))
    # each pair is checked in the batch of its larger end, where that end's normal text is
    # (``_Prepare`` keeps the batch's normal texts apart from the documents); the smaller end's
    # text is sent there from its own batch, once per batch (``_CheckExact`` says why)
    return ((texts, found) | "TextsAndPairs" >> beam.Flatten()
            | "JoinEnds" >> beam.GroupByKey()
            | "SendEnds" >> beam.FlatMap(_send_ends)
            | "ByBatch" >> beam.GroupByKey()
            | "Verify" >> beam.ParDo(_CheckExact(cfg)))


# ---------------------------------------------------------------- the survivors

class _Apply(beam.DoFn):
    """(batch, tagged [documents or their references, URL and exact verdicts, near verdicts])
    -> ``kept`` documents and ``rejected`` rows (``vertices.apply_verdicts``)."""

    def __init__(self, cfg: DedupConfig):
        self.near = cfg.near

    def setup(self):
        self._near = counter("near_duplicate")

    def process(self, kv):
        docs, verdicts, found = [], [], []
        for kind, value in kv[1]:
            if kind == _DOCS:
                docs.extend(_unspilled(value))  # (vertex, document or Ref)
            elif kind == _VERDICTS:
                verdicts.extend(value)
            else:
                found.extend(value)
        if not docs:
            return
        docs = list(zip([v for v, _ in docs], resolve_docs([d for _, d in docs])))
        kept, rejected, near = apply_verdicts(docs, verdicts, found if self.near else None)
        self._near.inc(near)
        for doc in kept:
            yield tag(KEPT, doc)
        for row in rejected:
            yield tag(REJECTED, row)


def _node(group):
    return group[0]


# ---------------------------------------------------------------- the composite

def _key_new(doc: Document, priority: tuple[str, ...]) -> tuple[str, bytes]:
    return (node_key(doc.id, doc.source, source_priority=priority), encode(pack(doc)))


def _key_existing(doc: Document, priority: tuple[str, ...]) -> tuple[str, bytes]:
    return (node_key(doc.id, doc.source, existing=True, source_priority=priority),
            encode(pack(doc)))


def _not_existing(item) -> bool:
    return not is_existing(item[0])


class DedupText(beam.PTransform):
    """``docs | DedupText(cfg, dedup_against=paths, existing=docs_of_tier_0)`` ->
    ``(kept, rejected)``. Documents of tier 0 (earlier outputs, ``existing``) are never output;
    a document of this run in their group or component is dropped for them.

    ``kept``: the documents of this run that survive; ``rejected``: ``RejectedRecord`` rows with
    reason ``url_duplicate``, ``exact_duplicate`` or ``near_duplicate`` and ``duplicate_of``.

    ``spill``: a folder for each batch's documents and normal texts, which the shuffles then
    carry by name (``pipelines.spill``; the caller removes it after the run). Without it
    they travel in the shuffles; the rows are the same."""

    def __init__(self, cfg: DedupConfig | None = None, dedup_against: Iterable[str] = (),
                 existing: beam.PCollection | None = None, label: str | None = None,
                 inputs: Sequence[str] = (), spill: str | None = None):
        super().__init__(label)
        self.cfg = cfg or DedupConfig()
        self.dedup_against = tuple(dedup_against)
        self.existing = existing  # more documents of tier 0: DedupEarlier's shadows
        # the run's input files in plan order: the first copy in the input survives
        self.ranks = file_ranks(inputs)
        self.spill = spill  # a folder for the batches' documents and texts (pipelines.spill)

    def expand(self, docs):
        cfg = self.cfg
        if self.spill is not None and delivers_finish_bundle(docs.pipeline):
            # the documents to files where they are made, ByNode groups references
            items = docs | "Key" >> beam.ParDo(KeySpilled(cfg.source_priority, self.spill))
        else:
            items = docs | "Key" >> beam.Map(_key_new, cfg.source_priority)
        old = []
        if self.dedup_against:
            old.append(docs.pipeline | "ReadExisting" >> ReadExisting(self.dedup_against, cfg))
        if self.existing is not None:
            old.append(self.existing | "KeyExisting" >> beam.Map(_key_existing,
                                                                  cfg.source_priority))
        if old:
            items = (items, *old) | "WithExisting" >> beam.Flatten()
        if not (cfg.url or cfg.exact or cfg.near):
            kept = (items | "DropExisting" >> beam.Filter(_not_existing)
                    | "Docs" >> beam.Map(lambda item: unpack(decode(item[1]))))
            return kept, docs.pipeline | "NoRejected" >> beam.Create([])
        prepared = (items
                    | "ByNode" >> beam.GroupByKey()
                    # ByNode carries encoded documents (pipelines.opaque: the runner buffers
                    # bytes, not their fields) or references to them (pipelines.dedup_refs);
                    # a plain list for any runner's coder
                    | "Rank" >> beam.Map(rank_refs, self.ranks)
                    | "Batch" >> Batches(cfg.minhash.batch_size, key=_node)
                    | "Prepare" >> ParDoTags(_Prepare(cfg, self.spill),
                                             (_JOIN, _TEXTS, _URL, _EXACT, _BANDS)))
        # the final group: documents, verdicts and near verdicts, tagged, per batch id;
        # ``last`` is the step whose output the next one reads (``_Router``: only one does)
        joined, last = [prepared[_JOIN]], prepared
        if cfg.url:
            last = (prepared[_URL] | "UrlGroups" >> beam.GroupByKey()
                    | "Url" >> ParDoTags(_Resolve(cfg, _URL), (_JOIN, _EXACT, _BANDS)))
            joined.append(last[_JOIN])
        if cfg.exact:
            last = (last[_EXACT]
                    | "ExactGroups" >> beam.GroupByKey()
                    | "Exact" >> ParDoTags(_Resolve(cfg, _EXACT), (_JOIN, _BANDS)))
            joined.append(last[_JOIN])
        if cfg.near:
            bands = last[_BANDS]
            joined.append(_near_edges(bands, prepared[_TEXTS], cfg)
                          | "Graph" >> beam.GroupByKey()
                          | "Components" >> beam.ParDo(_Components()))
        out = (tuple(joined) | "ToJoin" >> beam.Flatten()
               | "Join" >> beam.GroupByKey()
               | "Apply" >> ParDoTags(_Apply(cfg), (KEPT, REJECTED)))
        return out[KEPT], out[REJECTED]


__all__: list[Any] = ["BUCKET_PARTITIONS", "GROUP_PARTITIONS", "NAMESPACE", "Components",
                      "DedupImages", "DedupText", "GroupDedup"]
