"""Large-star / small-star steps: each a pure function; alternated, they find the connected
components (checked against union-find) on paths, stars, cliques, grids and random graphs."""

from __future__ import annotations

import hashlib
import random

import pytest

from corpus.dedup.components import (
    components_by_union_find,
    connected_components,
    labels,
    large_star,
    large_star_round,
    small_star,
    small_star_round,
    unconverged,
)


def h(i: int) -> str:
    return hashlib.sha1(str(i).encode()).hexdigest()[:10]


def test_large_star_links_larger_neighbours_to_the_smallest():
    assert sorted(large_star("c", ["a", "d", "e", "c", "d"])) == [("a", "d"), ("a", "e")]
    assert list(large_star("a", ["b", "c"])) == [("a", "b"), ("a", "c")]
    assert list(large_star("z", [])) == []


def test_small_star_links_node_and_smaller_neighbours_to_the_smallest():
    assert sorted(small_star("d", ["b", "a", "c"])) == [("a", "b"), ("a", "c"), ("a", "d")]
    assert list(small_star("a", [])) == []


def test_one_round_on_a_path():
    path = {("a", "b"), ("b", "c"), ("c", "d")}
    assert large_star_round(path) == {("a", "b"), ("a", "c"), ("b", "d")}
    # small-star at d: its only smaller neighbour is b, so (b, d) stays
    assert small_star_round({("a", "b"), ("a", "c"), ("b", "d")}) == {
        ("a", "b"), ("a", "c"), ("b", "d")}
    # the next large-star at b (neighbours a, d) hangs d on a: a star
    assert large_star_round({("a", "b"), ("a", "c"), ("b", "d")}) == {
        ("a", "b"), ("a", "c"), ("a", "d")}


GRAPHS = {
    "path sorted": [(f"{i:05d}", f"{i + 1:05d}") for i in range(300)],
    "path hashed": [(h(i), h(i + 1)) for i in range(2000)],
    "star": [(h(0), h(i)) for i in range(1, 500)],
    "clique": [(h(i), h(j)) for i in range(30) for j in range(i)],
    "grid": [(h(i * 30 + j), h(i * 30 + j + 1)) for i in range(30) for j in range(29)]
    + [(h(i * 30 + j), h((i + 1) * 30 + j)) for i in range(29) for j in range(30)],
    "random": [(h(random.Random(1).randrange(3000)), h(random.Random(i).randrange(3000)))
               for i in range(2, 3000)],
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_components_equal_union_find(name):
    label, rounds = connected_components(GRAPHS[name])
    assert label == components_by_union_find(GRAPHS[name])
    assert unconverged(label) == 0
    assert rounds <= 12, f"{name} took {rounds} rounds"


def test_two_components_stay_apart():
    label, _ = connected_components([("b", "c"), ("x", "y"), ("c", "d"), ("y", "z")])
    assert label == {"b": "b", "c": "b", "d": "b", "x": "x", "y": "x", "z": "x"}


def test_too_few_rounds_leaves_a_chain_that_is_counted():
    label = labels({("a", "b"), ("b", "c")})  # not a star yet: c -> b -> a
    assert label == {"a": "a", "b": "a", "c": "b"}
    assert unconverged(label) == 1
