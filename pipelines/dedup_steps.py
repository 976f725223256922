"""Beam steps both dedups share: one survivor per group, connected components, and labels applied
to keyed records.

``GroupDedup`` keeps one ``(node, record)`` per group key (``DedupImages``' exact copies);
``Components`` labels every node of an edge list with its component's smallest node by
union-find over all the edges in one group; ``apply_labels`` joins records with labels and scores
(``DedupImages``' perceptual copies). ``pipelines/dedup.py`` (``DedupText``) uses the components
and the counters. Rejected rows are counted with ``Metrics.counter("m6.dedup", reason)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from corpus.dedup.components import components_by_union_find
from corpus.dedup.survivor import id_of, is_existing, member_order, reject, rejections, split_group
from pipelines.stage_dofn import REJECTED
from pipelines.tagged import ParDoTags, tag

NAMESPACE = "m6.dedup"
NOKEY = "nokey"
KEYED = "keyed"
KEPT = "kept"


def counter(reason: str):
    return Metrics.counter(NAMESPACE, reason)


# ---------------------------------------------------------------- groups (URL, exact hash)

class _KeyFor(beam.DoFn):
    """(node, record) -> ``keyed``: (group key, (node, record)); with no key: ``nokey``."""

    def __init__(self, key_fn):
        self.key_fn = key_fn

    def process(self, item):
        k = self.key_fn(item[1])
        if k is None:
            yield tag(NOKEY, item)
        else:
            yield tag(KEYED, (k, item))


class _Survivors(beam.DoFn):
    """One group -> its survivor (``kept``) and a rejected row per loser of this run.

    The group is read twice (its minimum, then every member) and never copied, so a text
    repeated a million times does not have to fit in one worker's memory."""

    def __init__(self, reason: str):
        self.reason = reason

    def setup(self):
        self._rejected = counter(self.reason)

    def process(self, group):
        _, members = group
        best = member_order(min(members, key=member_order))
        kept = False
        for member in members:
            if not kept and member_order(member) == best:
                kept = True
                yield tag(KEPT, member)
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
        keyed = items | "Key" >> ParDoTags(_KeyFor(self.key_fn), (KEYED, NOKEY))
        out = (keyed[KEYED] | "Group" >> beam.GroupByKey()
               | "Survivor" >> ParDoTags(_Survivors(self.reason), (KEPT, REJECTED)))
        kept = (out[KEPT], keyed[NOKEY]) | "Merge" >> beam.Flatten()
        return kept, out[REJECTED]


# ---------------------------------------------------------------- connected components

def _in_graph(edge):
    return (0, edge)


def _labels(graph) -> Iterator[tuple[str, str]]:
    for node, root in components_by_union_find(graph[1]).items():
        if root != node:
            yield (node, root)


class Components(beam.PTransform):
    """Edges (a, b) -> (node, smallest node of its component) for every node that is not the
    smallest: every edge in one group (key 0), labelled exactly by union-find in one pass.

    Why one group (issue 17.2): duplicate components are tiny (an image and its copies), so the
    edges are about one per duplicate; the star rounds this replaced (Kiveris et al., 2014,
    ``corpus.dedup.components``) never held the graph in one place but cost two shuffles a round,
    16 of a run's 58 stages, and after too few rounds kept some duplicates. ``DedupText`` labels
    its verified edges the same way (``pipelines/dedup.py``, ``_Components``)."""

    def expand(self, edges):
        return (edges | "InGraph" >> beam.Map(_in_graph)
                | "Graph" >> beam.GroupByKey()
                | "Label" >> beam.FlatMap(_labels))


class _ApplyLabels(beam.DoFn):
    """(node, {record, label, score}) -> ``kept``: the record (a component survivor), or
    ``rejected``: its rejection."""

    def __init__(self, reason: str = "near_duplicate"):
        self.reason = reason

    def setup(self):
        self._rejected = counter(self.reason)

    def process(self, kv):
        node, parts = kv
        records = list(parts["record"])
        if not records:
            return
        label = min(parts["label"], default=None)
        scores = list(parts["score"])
        first, others = split_group([(node, r) for r in records])
        if label is None or label == node:
            yield tag(KEPT, first[1])
        else:
            self._rejected.inc()
            yield tag(REJECTED, reject(first[1], self.reason, id_of(label),
                                       scores[0] if scores else None))
        for row in rejections(others, node, "duplicate_id"):  # the same id twice
            yield tag(REJECTED, row)


def apply_labels(items, labels, scores, label: str):
    new = items | f"{label}New" >> beam.Filter(lambda it: not is_existing(it[0]))
    out = ({"record": new, "label": labels, "score": scores}
           | f"{label}Join" >> beam.CoGroupByKey()
           | f"{label}Apply" >> ParDoTags(_ApplyLabels(), (KEPT, REJECTED)))
    return out[KEPT], out[REJECTED]


__all__ = ["KEPT", "NAMESPACE", "Components", "GroupDedup", "apply_labels", "counter"]
