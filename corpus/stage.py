"""The corpus stage protocol: plain, picklable objects that Beam (or a plain loop) can run.

A ``Stage`` takes only config values in ``__init__``, loads heavy things lazily in ``setup()``
(a kenlm model, a fasttext model, a word automaton) and turns one record into zero or more
records in ``process``. A record it drops is yielded as a ``RejectedRecord`` carrying the stage
and the reason; the Beam adapter (``pipelines/stage_dofn.py``) routes those to the ``rejected``
output. A ``Filter`` only answers ``keep(record) -> Verdict``. (cc_net ``Transformer``; datatrove
``BaseFilter.filter`` returning ``(False, reason)``.)

Stages never import Beam or torch, so each can be unit-tested with a list of records.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from schemas import RejectedRecord


@dataclass(frozen=True)
class Verdict:
    """A filter's answer: keep or not, why not, and the score it computed (if any)."""

    keep: bool
    reason: str = ""
    score: float | None = None
    detail: str | None = None

    @classmethod
    def ok(cls, score: float | None = None) -> Verdict:
        return cls(True, "", score)

    @classmethod
    def drop(cls, reason: str, score: float | None = None, detail: str | None = None) -> Verdict:
        return cls(False, reason, score, detail)


class Stage:
    """Base of every corpus stage. Subclasses set ``name`` and implement ``process``."""

    name: ClassVar[str] = "stage"

    def setup(self) -> None:
        """Load heavy resources once per worker. Must be idempotent."""

    def process(self, record: Any) -> Iterator[Any]:
        raise NotImplementedError

    def run(self, records: Iterable[Any]) -> Iterator[Any]:
        """Run the stage over ``records`` outside Beam (tests, notebooks, benchmarks)."""
        self.setup()
        for record in records:
            yield from self.process(record)


class Filter(Stage):
    """A stage that keeps or drops each record. ``score_field`` names the ``Quality`` field
    (on a ``Document``) where a kept record's score is stored, if any."""

    score_field: ClassVar[str | None] = None

    def keep(self, record: Any) -> Verdict:
        raise NotImplementedError

    def process(self, record: Any) -> Iterator[Any]:
        verdict = self.keep(record)
        if verdict.keep:
            if self.score_field and verdict.score is not None and hasattr(record, "quality"):
                # a copy: a Beam runner may hand the same input object to another consumer
                quality = replace(record.quality, **{self.score_field: verdict.score})
                record = replace(record, quality=quality)
            yield record
        else:
            yield record.reject(self.name, verdict.reason, score=verdict.score,
                                detail=verdict.detail)


def split(outputs: Iterable[Any]) -> tuple[list[Any], list[RejectedRecord]]:
    """Separate kept records from rejected ones (handy in tests)."""
    kept, rejected = [], []
    for out in outputs:
        (rejected if isinstance(out, RejectedRecord) else kept).append(out)
    return kept, rejected
