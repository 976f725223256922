"""Connected components of the duplicate graph by alternating large-star and small-star steps.

Kiveris, Lattanzi, Mirrokni, Rastogi, Vassilvitskii, "Connected Components in MapReduce and
Beyond" (SoCC 2014). Every step looks at one node and its neighbours only, so in Beam a step is a
``GroupByKey`` on the node and no worker ever holds more than one node's neighbourhood: the graph
is never collected in one place. Nodes are strings compared as strings (``survivor.node_key``:
the survivor order), and the smallest node of a component is its survivor.

* ``large_star(u, N(u))``: connect every neighbour larger than ``u`` to ``m``, the smallest of
  ``u`` and its neighbours;
* ``small_star(u, N'(u))``, with ``N'(u)`` the neighbours smaller than ``u``: connect ``u`` and every
  node of ``N'(u)`` to ``m``, the smallest of them.

Both keep each component connected and never join two components; alternating them turns each
component into a star around its smallest node in O(log n) rounds in practice (O(log^2 n) proven).
Once converged, a node's label (its smallest neighbour, or itself) is the component's smallest
node. ``connected_components`` runs the same steps in memory until nothing changes (the reference
for the Beam rounds, and the tool for tests); ``labels`` reads the labels off an edge set.

After too few rounds a component may still be several stars: each star's centre survives, so
duplicates are kept rather than documents wrongly dropped, and ``unconverged`` counts the nodes
where this happened. The Beam pipelines label components by ``components_by_union_find`` over
all the edges in one group (``pipelines/dedup_steps.py``, ``Components``): duplicate components
are tiny, and each star round cost two shuffles.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

Edge = tuple[str, str]


def canonical(a: str, b: str) -> Edge:
    """An undirected edge as (smaller, larger)."""
    return (a, b) if a < b else (b, a)


def large_star(node: str, neighbours: Iterable[str]) -> Iterator[Edge]:
    """The edges the large-star step emits at ``node`` (neighbours in any order, repeats allowed)."""
    nbrs = set(neighbours)
    nbrs.discard(node)
    if not nbrs:
        return
    m = min(min(nbrs), node)
    for v in sorted(nbrs):
        if v > node and v != m:
            yield (m, v)


def small_star(node: str, smaller_neighbours: Iterable[str]) -> Iterator[Edge]:
    """The edges the small-star step emits at ``node``, given its neighbours smaller than it."""
    nbrs = {v for v in smaller_neighbours if v < node}
    if not nbrs:
        return
    m = min(nbrs)
    yield (m, node)
    for v in sorted(nbrs):
        if v != m:
            yield (m, v)


def large_star_round(edges: Iterable[Edge]) -> set[Edge]:
    """One large-star step over a whole edge set (in memory)."""
    adj: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        if a != b:
            adj[a].add(b)
            adj[b].add(a)
    return {e for u, nbrs in adj.items() for e in large_star(u, nbrs)}


def small_star_round(edges: Iterable[Edge]) -> set[Edge]:
    """One small-star step over a whole edge set (in memory)."""
    smaller: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        if a != b:
            lo, hi = canonical(a, b)
            smaller[hi].add(lo)
    return {e for u, nbrs in smaller.items() for e in small_star(u, nbrs)}


def labels(edges: Iterable[Edge]) -> dict[str, str]:
    """Each node of an edge set mapped to its smallest neighbour or itself."""
    out: dict[str, str] = {}
    for a, b in edges:
        lo, hi = canonical(a, b)
        out[lo] = min(out.get(lo, lo), lo)
        out[hi] = min(out.get(hi, hi), lo)
    return out


def unconverged(label_of: dict[str, str]) -> int:
    """Nodes whose label is itself labelled with another node (a chain: not yet a star)."""
    return sum(1 for v, lab in label_of.items() if lab != v and label_of.get(lab, lab) != lab)


def connected_components(edges: Iterable[Edge], max_rounds: int = 1000
                         ) -> tuple[dict[str, str], int]:
    """(node -> smallest node of its component, rounds used) for the nodes of ``edges``.

    A round is one large-star step and one small-star step, as in the Beam pipeline."""
    current = {canonical(a, b) for a, b in edges if a != b}
    for rounds in range(1, max_rounds + 1):
        after = small_star_round(large_star_round(current))
        if after == current:
            return labels(current), rounds
        current = after
    raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")


def components_by_union_find(edges: Iterable[Edge]) -> dict[str, str]:
    """The same answer by union-find, in one pass over the edges: what the Beam pipelines use,
    and an independent check of the star rounds."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in list(parent)}
