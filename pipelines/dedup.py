"""Duplicate removal in Beam: ``DedupText`` for documents, ``DedupImages`` for image-text rows.

Every step is a pure function of ``corpus.dedup`` run per key after a ``GroupByKey``; no step
collects the documents, the edges or the graph on one worker, and nothing uses side inputs:

    DedupText
      ReadExisting     --dedup-against outputs: their text shards, as documents of tier 0
      Url              GroupByKey(normalised URL) -> one survivor     -> url_duplicate
      Exact            GroupByKey(text hash) -> one survivor          -> exact_duplicate
      Near
        Sign           Batches -> vectorised MinHash -> (partition, chunk of band keys)
        Buckets        GroupByKey(partition) -> buckets by np.unique -> candidate pairs
        Verify         CoGroupByKey(node: text, candidate pairs) -> GroupByKey(pair)
                       -> exact n-gram Jaccard >= threshold
        CC             cc_rounds x (large-star GroupByKey, small-star GroupByKey)
        Labels         CombinePerKey(min) -> node -> component survivor
        Apply          CoGroupByKey(documents, labels, scores) -> kept | near_duplicate

DoFns with several outputs yield ``(tag, value)`` pairs split by ``pipelines.tagged`` and batches
come from ``pipelines.batches``, not ``TaggedOutput``/``BatchElements``, so every runner (the
DaskRunner too) gives the same rows.

Both transforms return ``(kept, rejected)``; rejected rows carry ``duplicate_of`` and are counted
with ``Metrics.counter("m6.dedup", reason)``. ``corpus.dedup.local`` and
``corpus.dedup.images`` compute the same survivors in memory (``tests/pipelines/test_dedup.py``
holds them together, on several runners and input shardings).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from corpus.dedup.buckets import normal_jaccard
from corpus.dedup.components import canonical, large_star, small_star
from corpus.dedup.config import DedupConfig
from corpus.dedup.image_hash import block_keys
from corpus.dedup.images import hash_pairs, image_key, phash_int, sha256_of
from corpus.dedup.local import exact_key, url_key
from corpus.dedup.minhash import minhasher
from corpus.dedup.normalise import normalise_text
from corpus.dedup.partitions import chunks, partition_pairs
from corpus.dedup.survivor import (
    id_of,
    is_existing,
    member_order,
    node_key,
    reject,
    rejections,
    split_group,
)
from corpus.document import Document
from pipelines.batches import Batches
from pipelines.stage_dofn import REJECTED
from pipelines.tagged import ParDoTags, tag
from schemas.layout import MANIFEST_FILE
from schemas.listing import RERUN, corpus_folder

log = logging.getLogger(__name__)

NAMESPACE = "m6.dedup"
_TEXT = "text"
_NOKEY = "nokey"
_KEYED = "keyed"
_KEPT = "kept"
_BANDS = "bands"
# Partitions of the band keys (corpus.dedup.partitions): the near-duplicate shuffle carries at most
# this many elements per batch of documents, and each partition's group holds about 1/64 of all
# band keys (about 150 MB at 1,000,000 documents).
BUCKET_PARTITIONS = 64


def _counter(reason: str):
    return Metrics.counter(NAMESPACE, reason)


# ---------------------------------------------------------------- groups (URL, exact hash)

class _KeyFor(beam.DoFn):
    """(node, record) -> ``keyed``: (group key, (node, record)); with no key: ``nokey``."""

    def __init__(self, key_fn):
        self.key_fn = key_fn

    def process(self, item):
        k = self.key_fn(item[1])
        if k is None:
            yield tag(_NOKEY, item)
        else:
            yield tag(_KEYED, (k, item))


class _Survivors(beam.DoFn):
    """One group -> its survivor (``kept``) and a rejected row per loser of this run.

    The group is read twice (its minimum, then every member) and never copied, so a text
    repeated a million times does not have to fit in one worker's memory."""

    def __init__(self, reason: str):
        self.reason = reason

    def setup(self):
        self._rejected = _counter(self.reason)

    def process(self, group):
        _, members = group
        best = member_order(min(members, key=member_order))
        kept = False
        for member in members:
            if not kept and member_order(member) == best:
                kept = True
                yield tag(_KEPT, member)
                continue
            for row in rejections([member], best[0], self.reason):
                self._rejected.inc()
                yield tag(REJECTED, row)


class GroupDedup(beam.PTransform):
    """Keep one (node, record) per value of ``key_fn(record)``; None keys pass untouched."""

    def __init__(self, key_fn, reason: str, label: str | None = None):
        super().__init__(label)
        self.key_fn = key_fn
        self.reason = reason

    def expand(self, items):
        keyed = items | "Key" >> ParDoTags(_KeyFor(self.key_fn), (_KEYED, _NOKEY))
        out = (keyed[_KEYED] | "Group" >> beam.GroupByKey()
               | "Survivor" >> ParDoTags(_Survivors(self.reason), (_KEPT, REJECTED)))
        kept = (out[_KEPT], keyed[_NOKEY]) | "Merge" >> beam.Flatten()
        return kept, out[REJECTED]


# ---------------------------------------------------------------- connected components

def _both_ways(edge):
    a, b = edge
    yield (a, b)
    yield (b, a)


def _large(kv):
    return large_star(kv[0], kv[1])


def _to_larger(edge):
    lo, hi = canonical(*edge)
    return (hi, lo)


def _small(kv):
    return small_star(kv[0], kv[1])


class _CountUnconverged(beam.DoFn):
    """Counts nodes that are labelled and also the label of another node: a chain left after the
    last round, so some duplicates are kept. Warns once per worker."""

    def setup(self):
        self._unconverged = _counter("cc_unconverged_nodes")
        self._warned = False

    def process(self, kv):
        if len(set(kv[1])) == 2:
            self._unconverged.inc()
            if not self._warned:
                self._warned = True
                log.warning("dedup: connected components did not converge (node %s); some "
                            "near-duplicates are kept. Raise dedup.cc_rounds.", kv[0])
        return []


def _roles(node_label):
    node, label = node_label
    yield (node, "child")
    yield (label, "parent")


class ConnectedComponents(beam.PTransform):
    """Edges (a, b) -> (node, smallest node of its component) for every node that is not the
    smallest: ``rounds`` x (large-star, small-star), each step a GroupByKey per node."""

    def __init__(self, rounds: int, label: str | None = None):
        super().__init__(label)
        self.rounds = rounds

    def expand(self, edges):
        for i in range(self.rounds):
            edges = (edges
                     | f"Large{i}Emit" >> beam.FlatMap(_both_ways)
                     | f"Large{i}Group" >> beam.GroupByKey()
                     | f"Large{i}Star" >> beam.FlatMap(_large)
                     | f"Small{i}Emit" >> beam.Map(_to_larger)
                     | f"Small{i}Group" >> beam.GroupByKey()
                     | f"Small{i}Star" >> beam.FlatMap(_small))
        labels = (edges | "ToLarger" >> beam.Map(_to_larger)
                  | "Label" >> beam.CombinePerKey(min))
        _ = (labels | "Roles" >> beam.FlatMap(_roles) | "RolesGroup" >> beam.GroupByKey()
             | "Unconverged" >> beam.ParDo(_CountUnconverged()))
        return labels


class _ApplyLabels(beam.DoFn):
    """(node, {record, label, score}) -> ``kept``: the record (a component survivor), or
    ``rejected``: its rejection."""

    def __init__(self, reason: str = "near_duplicate"):
        self.reason = reason

    def setup(self):
        self._rejected = _counter(self.reason)

    def process(self, kv):
        node, parts = kv
        records = list(parts["record"])
        if not records:
            return
        label = min(parts["label"], default=None)
        scores = list(parts["score"])
        first, others = split_group([(node, r) for r in records])
        if label is None or label == node:
            yield tag(_KEPT, first[1])
        else:
            self._rejected.inc()
            yield tag(REJECTED, reject(first[1], self.reason, id_of(label),
                                       scores[0] if scores else None))
        for row in rejections(others, node, "duplicate_id"):  # the same id twice
            yield tag(REJECTED, row)


def _apply_labels(items, labels, scores, label: str):
    new = items | f"{label}New" >> beam.Filter(lambda it: not is_existing(it[0]))
    out = ({"record": new, "label": labels, "score": scores}
           | f"{label}Join" >> beam.CoGroupByKey()
           | f"{label}Apply" >> ParDoTags(_ApplyLabels(), (_KEPT, REJECTED)))
    return out[_KEPT], out[REJECTED]


# ---------------------------------------------------------------- text near-duplicates

class _Sign(beam.DoFn):
    """A batch of (node, document) -> ``bands``: (partition, chunk of band keys and signatures)
    per partition its documents' band keys fall in (``corpus.dedup.partitions``), and ``text``:
    (node, normal text) when candidates are verified exactly. Each document's signature and band
    keys depend on that document only, not on the batch it came in."""

    def __init__(self, cfg: DedupConfig):
        self.cfg = cfg

    def setup(self):
        self._hasher = minhasher(self.cfg.minhash)
        self._shape = self.cfg.lsh_shape()
        self._signed = _counter("signed")

    def process(self, batch):
        normals = [normalise_text(doc.text) for _, doc in batch]
        sigs = self._hasher.signatures(normals, normalised=True)
        signed = [i for i, normal in enumerate(normals) if normal]  # empty: nothing to compare
        self._signed.inc(len(signed))
        if self.cfg.verify == "exact":
            for i in signed:
                yield tag(_TEXT, (batch[i][0], normals[i]))
        bands, rows = self._shape
        for part, chunk in chunks([batch[i][0] for i in signed], sigs[signed], bands, rows,
                                  BUCKET_PARTITIONS):
            yield tag(_BANDS, (part, chunk))


class _Pairs(beam.DoFn):
    """(partition, chunks) -> ((a, b), estimate) for the candidate pairs of its buckets."""

    def __init__(self, cfg: DedupConfig):
        self.cfg = cfg

    def process(self, group):
        cfg = self.cfg
        for a, b, est in partition_pairs(group[1], rows=cfg.lsh_shape()[1],
                                         num_perm=cfg.minhash.num_perm, threshold=cfg.threshold,
                                         verify=cfg.verify, max_pairs=cfg.max_bucket_pairs):
            yield ((a, b), est)


def _pair_ends(candidate):
    """((a, b), estimate) -> (a, (a, b)) and (b, (a, b)): each candidate to both its nodes."""
    pair = candidate[0]
    yield (pair[0], pair)
    yield (pair[1], pair)


def _send_text(kv):
    """(u, {text, pair}) -> ((a, b), (u, text of u)) for each candidate pair of u; pairs are
    streamed, so a node with a million candidates costs no memory here."""
    u, parts = kv
    text = next(iter(parts[_TEXT]), None)
    if text is None:
        return
    for pair in parts["pair"]:
        yield (pair, (u, text))


class _CheckExact(beam.DoFn):
    """((a, b), [(a, text), (b, text)]) -> ((a, b), J) when the exact n-gram Jaccard similarity J
    of the two texts reaches the threshold."""

    def __init__(self, cfg: DedupConfig):
        self.cfg = cfg

    def setup(self):
        self._dropped = _counter("candidates_below_threshold")

    def process(self, kv):
        (a, b), ends = kv
        text = {}
        for node, normal in ends:
            text.setdefault(node, normal)
        if a not in text or b not in text:
            return
        j = normal_jaccard(text[a], text[b], self.cfg.minhash.ngram)
        if j >= self.cfg.threshold:
            yield ((a, b), j)
        else:
            self._dropped.inc()


def _node(item):
    return item[0]


def _endpoints(edge_score):
    (a, b), s = edge_score
    yield (a, s)
    yield (b, s)


class NearDuplicates(beam.PTransform):
    """(node, document) items -> (kept items' documents, near_duplicate rejections)."""

    def __init__(self, cfg: DedupConfig, label: str | None = None):
        super().__init__(label)
        self.cfg = cfg

    def expand(self, items):
        cfg = self.cfg
        signed = (items
                  | "Batch" >> Batches(cfg.minhash.batch_size, key=_node)
                  | "Sign" >> ParDoTags(_Sign(cfg), (_BANDS, _TEXT)))
        candidates = (signed[_BANDS]
                      | "Buckets" >> beam.GroupByKey()
                      | "Pairs" >> beam.ParDo(_Pairs(cfg))
                      | "DistinctPairs" >> beam.CombinePerKey(max))
        if cfg.verify == "exact":
            texts = signed[_TEXT]
            # one join of the texts with both ends of each candidate, then one group per pair
            ends = candidates | "PairEnds" >> beam.FlatMap(_pair_ends)
            edges = ({_TEXT: texts, "pair": ends}
                     | "JoinText" >> beam.CoGroupByKey()
                     | "SendText" >> beam.FlatMap(_send_text)
                     | "ByPair" >> beam.GroupByKey()
                     | "Verify" >> beam.ParDo(_CheckExact(cfg)))
        else:
            edges = candidates
        labels = (edges | "Edges" >> beam.Keys()
                  | "CC" >> ConnectedComponents(cfg.cc_rounds))
        scores = (edges | "Endpoints" >> beam.FlatMap(_endpoints)
                  | "BestScore" >> beam.CombinePerKey(max))
        kept, rejected = _apply_labels(items, labels, scores, "Apply")
        return kept, rejected


# ---------------------------------------------------------------- --dedup-against

def existing_shards(paths: Sequence[str]) -> list[str]:
    """Text shards of earlier outputs: those an output folder's ``manifest.json`` lists (an
    incomplete folder is refused, ``schemas/listing.py``), or the files a glob or a ``.parquet``
    path names. Raises ``ValueError`` naming a path with no shard."""
    files: list[str] = []
    for path in paths:
        named = any(ch in path for ch in "*?[") or path.endswith(".parquet")
        folder = None if named else corpus_folder(path)
        if folder is not None:
            matched = folder.shards("text", hint=RERUN + ", or name its text/*.parquet files")
            pattern = f"{folder.url}/{MANIFEST_FILE}"
        else:
            pattern = path if named else FileSystems.join(path, "text", "*.parquet")
            matched = sorted(m.path for r in FileSystems.match([pattern])
                             for m in r.metadata_list)
        if not matched:
            raise ValueError(f"--dedup-against {path}: no text shards found (looked for "
                             f"{pattern}); give an earlier output folder or a glob of its "
                             "text/*.parquet files")
        files += matched
    return sorted(set(files))


def read_existing(path: str) -> Iterator[Document]:
    """The documents of one text shard (id, source, url, text)."""
    with FileSystems.open(path) as f:
        pf = pq.ParquetFile(f)
        for batch in pf.iter_batches(columns=["id", "source", "url", "text"], batch_size=1024):
            for row in batch.to_pylist():
                yield Document(id=row["id"], source=row["source"], text=row["text"] or "",
                               url=row["url"], input_file=path)


class ReadExisting(beam.PTransform):
    """Documents of earlier outputs, keyed as existing survivors."""

    def __init__(self, paths: Sequence[str], cfg: DedupConfig, label: str | None = None):
        super().__init__(label)
        self.files = existing_shards(paths)
        self.cfg = cfg

    def expand(self, pbegin):
        priority = self.cfg.source_priority
        return (pbegin | "Files" >> beam.Create(self.files)
                | "Spread" >> beam.Reshuffle()
                | "Read" >> beam.FlatMap(read_existing)
                | "Key" >> beam.Map(lambda d: (node_key(d.id, d.source, existing=True,
                                                        source_priority=priority), d)))


# ---------------------------------------------------------------- the composites

def _key_new(doc: Document, priority: tuple[str, ...]) -> tuple[str, Document]:
    return (node_key(doc.id, doc.source, source_priority=priority), doc)


class DedupText(beam.PTransform):
    """``docs | DedupText(cfg, dedup_against=paths)`` -> ``(kept, rejected)``.

    ``kept``: the documents of this run that survive; ``rejected``: ``RejectedRecord`` rows with
    reason ``url_duplicate``, ``exact_duplicate`` or ``near_duplicate`` and ``duplicate_of``."""

    def __init__(self, cfg: DedupConfig | None = None, dedup_against: Iterable[str] = (),
                 label: str | None = None):
        super().__init__(label)
        self.cfg = cfg or DedupConfig()
        self.dedup_against = tuple(dedup_against)

    def expand(self, docs):
        cfg = self.cfg
        priority = cfg.source_priority
        items = docs | "Key" >> beam.Map(_key_new, priority)
        if self.dedup_against:
            old = docs.pipeline | "ReadExisting" >> ReadExisting(self.dedup_against, cfg)
            items = (items, old) | "WithExisting" >> beam.Flatten()
        rejected = []
        if cfg.url:
            items, rej = items | "Url" >> GroupDedup(url_key, "url_duplicate")
            rejected.append(rej)
        if cfg.exact:
            items, rej = items | "Exact" >> GroupDedup(exact_key, "exact_duplicate")
            rejected.append(rej)
        if cfg.near:
            kept, rej = items | "Near" >> NearDuplicates(cfg)
            rejected.append(rej)
        else:
            kept = (items | "DropExisting" >> beam.Filter(lambda it: not is_existing(it[0]))
                    | "Docs" >> beam.Values())
        if not rejected:
            rejected.append(docs.pipeline | "NoRejected" >> beam.Create([]))
        merged = tuple(rejected) | "Rejected" >> beam.Flatten()
        return kept, merged


class _ImageHashes(beam.DoFn):
    """(node, row) -> (block key, (node, phash)) per block; rows without a hash pass over."""

    def __init__(self, radius: int):
        self.radius = radius

    def setup(self):
        self._no_hash = _counter("image_without_phash")

    def process(self, item):
        h = phash_int(item[1])
        if h is None:
            self._no_hash.inc()
            return
        for key in block_keys(h, self.radius):
            yield (key, (item[0], h))


class _HashPairs(beam.DoFn):
    def __init__(self, cfg: DedupConfig):
        self.cfg = cfg

    def process(self, block):
        for a, b, d in hash_pairs(block[1], self.cfg.image_hamming, self.cfg.max_bucket_pairs):
            yield ((a, b), float(d))


class DedupImages(beam.PTransform):
    """``rows | DedupImages(cfg)`` -> ``(kept, rejected)`` for ``ImageTextRecord`` rows.

    Exact copies (SHA-256 of the bytes) and perceptual copies (phash within
    ``cfg.image_hamming`` bits) keep one row each: the largest image, then the smallest id."""

    def __init__(self, cfg: DedupConfig | None = None, label: str | None = None):
        super().__init__(label)
        self.cfg = cfg or DedupConfig()

    def expand(self, rows):
        cfg = self.cfg
        items = rows | "Key" >> beam.Map(lambda r: (image_key(r, cfg), r))
        items, rej_exact = items | "Exact" >> GroupDedup(sha256_of, "exact_duplicate")
        edges = (items | "Hash" >> beam.ParDo(_ImageHashes(cfg.image_hamming))
                 | "Blocks" >> beam.GroupByKey()
                 | "Pairs" >> beam.ParDo(_HashPairs(cfg))
                 | "DistinctPairs" >> beam.CombinePerKey(min))
        labels = edges | "Edges" >> beam.Keys() | "CC" >> ConnectedComponents(cfg.cc_rounds)
        scores = (edges | "Endpoints" >> beam.FlatMap(_endpoints)
                  | "Closest" >> beam.CombinePerKey(min))
        kept, rej_near = _apply_labels(items, labels, scores, "Apply")
        return kept, (rej_exact, rej_near) | "Rejected" >> beam.Flatten()


__all__: list[Any] = ["ConnectedComponents", "DedupImages", "DedupText", "GroupDedup",
                      "NearDuplicates", "ReadExisting", "existing_shards", "read_existing"]
