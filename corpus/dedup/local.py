"""Text deduplication in memory: the same steps as the Beam pipeline, run as plain Python.

``dedup_text(docs, cfg, existing=...)`` gives exactly the survivors and rejected rows that
``pipelines.dedup.DedupText`` gives (a test holds the two together); it exists for tests, the
benchmark and small jobs in a notebook. Steps, each a pure function of this package:

1. URL duplicates: documents grouped by ``normalise_url``; the group's survivor (``survivor``)
   stays, the others are rejected with ``url_duplicate``;
2. exact duplicates: grouped by ``text_hash`` likewise (``exact_duplicate``);
3. near duplicates: MinHash signatures (``minhash``), band keys (``lsh``), candidate pairs per
   bucket (``buckets``), verification, connected components (``components``); every member of a
   component but its smallest ``node_key`` is rejected with ``near_duplicate``, ``duplicate_of``
   the component's survivor and ``score`` its highest verified similarity to a neighbour.

``duplicate_of`` names the document kept at that step: an exact copy of a page that is later
dropped as a near-duplicate points to that page, whose rejected row points on to the survivor.

Documents of ``existing`` (an earlier corpus) take part in every step and win every group (they
sort first), but are never output: new copies of them are rejected, they themselves are not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from corpus.dedup.buckets import bucket_pairs, jaccard, shingle_set
from corpus.dedup.components import connected_components
from corpus.dedup.config import DedupConfig
from corpus.dedup.minhash import minhasher
from corpus.dedup.normalise import normalise_texts, normalise_url, text_hash
from corpus.dedup.survivor import (
    file_ranks,
    first_placed,
    id_of,
    is_existing,
    node_key,
    reject,
    rejections,
    split_group,
)
from corpus.document import Document
from schemas import RejectedRecord

Item = tuple[str, Document]  # (node_key, document)


@dataclass(frozen=True)
class NearResult:
    """What the near-duplicate step found: verified edges, component labels, CC rounds."""

    edges: dict[tuple[str, str], float]  # (smaller key, larger key) -> similarity
    label: dict[str, str]  # node key -> smallest key of its component (only nodes with edges)
    candidates: int  # distinct candidate pairs before verification
    rounds: int


def keyed(docs: Iterable[Document], cfg: DedupConfig, *, existing: bool = False,
          inputs: Sequence[str] = ()) -> list[Item]:
    """Documents with their survivor-order keys; with the run's ``inputs`` (its plan's files, in
    order) each key is ``placed`` at the first input position of the documents with its id."""
    items = [(node_key(d.id, d.source, existing=existing, source_priority=cfg.source_priority), d)
             for d in docs]
    ranks = file_ranks(inputs)
    if existing or not ranks:
        return items
    places: dict[str, list[tuple[str | None, int | None]]] = defaultdict(list)
    for key, d in items:
        places[key].append((d.input_file, d.offset))
    first = {key: first_placed(key, ranks, p) for key, p in places.items()}
    return [(first[key], d) for key, d in items]


def group_step(items: Sequence[Item], key_of: Callable[[Document], str | None], reason: str
               ) -> tuple[list[Item], list[RejectedRecord]]:
    """Keep one member per group of equal ``key_of``; ``None`` keys are never grouped."""
    groups: dict[str, list[Item]] = defaultdict(list)
    kept: list[Item] = []
    for item in items:
        k = key_of(item[1])
        if k is None:
            kept.append(item)
        else:
            groups[k].append(item)
    rejected: list[RejectedRecord] = []
    for members in groups.values():
        survivor, losers = split_group(members)
        kept.append(survivor)
        rejected.extend(rejections(losers, survivor[0], reason))
    return kept, rejected


def url_key(doc: Document) -> str | None:
    return normalise_url(doc.url) if doc.url else None


def exact_key(doc: Document) -> str:
    return text_hash(doc.text)


def candidate_edges(items: Sequence[tuple[str, str]], cfg: DedupConfig
                    ) -> dict[tuple[str, str], float]:
    """(key, normal text) items -> candidate edges from LSH buckets, with signature estimates.

    The buckets are those of ``lsh.band_keys`` (equal band values), found per band with
    ``np.unique`` over the signature matrix instead of a dictionary of byte keys."""
    bands, rows = cfg.lsh_shape()
    hasher = minhasher(cfg.minhash)
    step = cfg.minhash.batch_size
    sigs = np.vstack([hasher.signatures([t for _, t in items[i:i + step]], normalised=True)
                      for i in range(0, len(items), step)] or
                     [np.zeros((0, cfg.minhash.num_perm), dtype=np.uint32)])
    # no shingles: nothing to be similar to (the exact step handles empty texts)
    signed = np.flatnonzero(np.fromiter((bool(t) for _, t in items), dtype=bool,
                                        count=len(items)))
    keys = [k for k, _ in items]
    edges: dict[tuple[str, str], float] = {}
    for band in range(bands):
        block = np.ascontiguousarray(sigs[signed, band * rows:(band + 1) * rows])
        as_rows = block.view(np.dtype((np.void, 4 * rows))).ravel()
        _, inverse, counts = np.unique(as_rows, return_inverse=True, return_counts=True)
        shared = np.flatnonzero(counts[inverse] > 1)
        if not len(shared):
            continue
        order = shared[np.argsort(inverse[shared], kind="stable")]
        cuts = np.flatnonzero(np.diff(inverse[order])) + 1
        for bucket in np.split(order, cuts):
            members = [(keys[signed[i]], sigs[signed[i]]) for i in bucket]
            for a, b, est in bucket_pairs(members, threshold=cfg.threshold, verify=cfg.verify,
                                          max_pairs=cfg.max_bucket_pairs):
                edges[(a, b)] = est
    return edges


def verify_exact(edges: dict[tuple[str, str], float], text_of: dict[str, str], cfg: DedupConfig
                 ) -> dict[tuple[str, str], float]:
    """Keep the edges whose exact n-gram Jaccard similarity reaches the threshold.

    Edges are taken in order of their first node, whose n-gram set is built once; only one or
    two sets are alive at a time (as in the Beam step, which joins texts per node)."""
    out = {}
    current, first = None, set()
    for (a, b) in sorted(edges):
        if a != current:
            current, first = a, shingle_set(text_of[a], cfg.minhash.ngram, normalised=True)
        j = jaccard(first, shingle_set(text_of[b], cfg.minhash.ngram, normalised=True))
        if j >= cfg.threshold:
            out[(a, b)] = j
    return out


def near_duplicates(items: Sequence[tuple[str, str]], cfg: DedupConfig) -> NearResult:
    """The near-duplicate graph and its components for (key, normal text) items."""
    cands = candidate_edges(items, cfg)
    if cfg.verify == "exact":
        edges = verify_exact(cands, dict(items), cfg)
    else:
        edges = cands
    label, rounds = connected_components(edges.keys())
    return NearResult(edges=edges, label=label, candidates=len(cands), rounds=rounds)


def near_step(items: Sequence[Item], cfg: DedupConfig
              ) -> tuple[list[Item], list[RejectedRecord], NearResult]:
    normal = list(zip([k for k, _ in items], normalise_texts([d.text for _, d in items])))
    result = near_duplicates(normal, cfg)
    best: dict[str, float] = defaultdict(float)
    for (a, b), sim in result.edges.items():
        best[a] = max(best[a], sim)
        best[b] = max(best[b], sim)
    by_key: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_key[item[0]].append(item)
    kept: list[Item] = []
    rejected: list[RejectedRecord] = []
    for key, members in by_key.items():
        (_, doc), others = split_group(members)
        rejected.extend(rejections(others, key, "duplicate_id"))  # the same id twice
        root = result.label.get(key, key)
        if root == key:
            kept.append((key, doc))
        elif not is_existing(key):
            rejected.append(reject(doc, "near_duplicate", id_of(root), best[key]))
    return kept, rejected, result


def dedup_text(docs: Iterable[Document], cfg: DedupConfig, existing: Iterable[Document] = (),
               inputs: Sequence[str] = ()) -> tuple[list[Document], list[RejectedRecord]]:
    """(kept documents sorted by id, rejected rows sorted by id) of ``docs``; ``inputs``: the
    run's input files in plan order, so the first copy in the input survives (``survivor``)."""
    items = keyed(existing, cfg, existing=True) + keyed(docs, cfg, inputs=inputs)
    rejected: list[RejectedRecord] = []
    if cfg.url:
        items, rej = group_step(items, url_key, "url_duplicate")
        rejected += rej
    if cfg.exact:
        items, rej = group_step(items, exact_key, "exact_duplicate")
        rejected += rej
    if cfg.near:
        items, rej, _ = near_step(items, cfg)
        rejected += rej
    kept = sorted((d for k, d in items if not is_existing(k)), key=lambda d: d.id)
    return kept, sorted(rejected, key=lambda r: (r.id, r.reason))


__all__ = ["NearResult", "dedup_text", "near_duplicates", "group_step", "keyed", "id_of"]
