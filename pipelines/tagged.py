"""Several outputs from one DoFn, the same on every runner: ``(tag, value)`` pairs and a splitter.

Beam's own way (``yield TaggedOutput(tag, v)`` with ``ParDo(fn).with_outputs(...)``, the
``multiple_output_pardo.py`` pattern) is not portable: the DaskRunner of Beam 2.77 hands every
output of a ParDo, tagged or not, to every consumer (``runners/dask/transform_evaluator.py``
collects all receivers into one list), so rejected rows and "no key" items arrive in the main
output. Here a DoFn yields plain ``(tag, value)`` tuples instead, and ``SplitTags`` selects each
tag with one ``FlatMap`` per tag. Runners that fuse steps (FnApiRunner, Dataflow, Flink, Spark)
run the selectors in the same stage as the DoFn, so the split costs a tuple and a comparison per
element, no extra pass over the data.

Usage::

    class Route(beam.DoFn):
        def process(self, x):
            yield tag("small", x) if x < 10 else tag("big", x)

    out = xs | "Route" >> ParDoTags(Route(), tags=("small", "big"))
    out.small, out["big"]

A DoFn that yields a tag it did not declare fails the job with a ValueError naming the tag: a
silently dropped output is the bug this module exists to avoid.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import apache_beam as beam


def tag(name: str, value: Any) -> tuple[str, Any]:
    """The element a DoFn yields to send ``value`` to output ``name``."""
    return (name, value)


def _select(element: tuple[str, Any], name: str, known: frozenset[str]) -> Iterator[Any]:
    try:
        got, value = element
    except (TypeError, ValueError):
        raise ValueError(f"expected a (tag, value) pair from pipelines.tagged.tag(), got "
                         f"{type(element).__name__}: {element!r:.200}") from None
    if got == name:
        yield value
    elif got not in known:
        raise ValueError(f"output tag {got!r} was not declared; declared tags: {sorted(known)}. "
                         "Add it to the tags of ParDoTags/SplitTags.")


class TaggedPCollections(dict):
    """``{tag: PCollection}`` that also reads as attributes (``out.kept`` == ``out["kept"]``),
    like the ``DoOutputsTuple`` of ``with_outputs``."""

    def __getattr__(self, name: str) -> beam.PCollection:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no output {name!r}; outputs are {sorted(self)}") from None


class SplitTags(beam.PTransform):
    """``(tag, value)`` pairs -> ``TaggedPCollections`` with one PCollection of values per tag."""

    def __init__(self, tags: Sequence[str], label: str | None = None):
        super().__init__(label)
        if not tags or len(set(tags)) != len(tags):
            raise ValueError(f"SplitTags needs distinct tags, got {list(tags)!r}")
        self.tags = tuple(tags)

    def expand(self, pairs):
        known = frozenset(self.tags)
        return TaggedPCollections({
            name: pairs | f"Select_{name}" >> beam.FlatMap(_select, name, known)
            for name in self.tags
        })


class ParDoTags(beam.PTransform):
    """``ParDo(fn)`` whose ``fn`` yields ``tag(name, value)`` for each name in ``tags``;
    returns ``TaggedPCollections``."""

    def __init__(self, fn: beam.DoFn, tags: Sequence[str], label: str | None = None):
        super().__init__(label)
        self.fn = fn
        self.tags = tuple(tags)

    def expand(self, pcoll):
        return (pcoll | "Run" >> beam.ParDo(self.fn)
                | "Split" >> SplitTags(self.tags))


__all__ = ["ParDoTags", "SplitTags", "TaggedPCollections", "tag"]
