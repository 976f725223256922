"""The corpus stage protocol: plain, picklable objects that Beam (or a plain loop) can run.

A ``Stage`` takes only config values in ``__init__``, loads heavy things lazily in ``setup()``
(a kenlm model, a fasttext model, a word automaton) and turns one record into zero or more
records in ``process``. A record it drops is yielded as a ``RejectedRecord`` carrying the stage
and the reason; the Beam adapter (``pipelines/stage_dofn.py``) routes those to the ``rejected``
output. (cc_net ``Transformer``.)

A ``Filter`` only answers ``keep(record) -> Verdict``: keep or not, the reason, the score that
decided, and the ``Quality`` scores it measured. ``apply_verdict`` is the one place a verdict
takes effect: a kept record is yielded as a copy carrying the verdict's scores, a dropped one as
a rejected row carrying its reason, score and detail. So no filter writes to a record, and a
filter can be asked for its verdict without producing anything (tests, notebooks). This is
datatrove's ``BaseFilter.filter`` returning ``bool | (False, reason)``, with the scores added:
datatrove filters write them into ``doc.metadata`` themselves, as a side effect of judging.
A stage that changes the text (paragraph-level perplexity cuts paragraphs) is a ``Stage``, not
a ``Filter``.

Stages never import Beam or torch, so each can be unit-tested with a list of records.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from schemas import RejectedRecord


@dataclass(slots=True)
class Verdict:
    """A filter's answer: keep or not, why not, the score that decided (the rejected row's
    ``score``), and ``scores``: the ``Quality`` fields a kept record is given (none for a drop:
    a rejected row has one score, the deciding one).

    A value: nothing changes a verdict after it is made. It is not a frozen dataclass only
    because one verdict is made per record and filter, and a frozen dataclass's ``__init__``
    takes 3x as long (about 1 us more, a tenth of what kenlm needs for a short document)."""

    keep: bool
    reason: str = ""
    score: float | None = None
    detail: str | None = None
    scores: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.scores and not self.keep:
            raise ValueError(f"a drop ({self.reason}) carries no scores: its score is the one "
                             "that decided")

    @classmethod
    def ok(cls, score: float | None = None, **scores: Any) -> Verdict:
        """Keep; ``scores`` are ``Quality`` field values, e.g. ``ok(p, spam_score=p)``."""
        return cls(True, "", score, None, scores)

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


def with_scores(record: Any, **scores: Any) -> Any:
    """A shallow copy of ``record`` (a ``Document`` or any record with a ``quality``
    dataclass) whose ``quality`` is a copy with ``scores`` set; the input is not touched.

    Stages must not mutate their input (a Beam runner may hand the same object to two
    consumers), and ``dataclasses.replace`` re-runs ``__init__`` on both the record and its
    ``Quality``: about 5 us a document, a third of what kenlm needs to score a short one.
    Copying the two instance dictionaries gives the same new objects ten times faster.
    """
    quality = record.quality
    fields = type(quality).__dataclass_fields__
    for name in scores:
        if name not in fields:  # a misspelt score would be lost silently on the way to the row
            raise ValueError(f"{type(quality).__name__} has no field {name}")
    q = object.__new__(type(quality))
    q.__dict__.update(quality.__dict__)
    q.__dict__.update(scores)
    new = object.__new__(type(record))
    new.__dict__.update(record.__dict__)
    new.quality = q
    return new


def apply_verdict(stage: str, record: Any, verdict: Verdict) -> Any:
    """The one place a verdict takes effect: the kept record (a copy carrying
    ``verdict.scores``, or ``record`` itself when there are none) or its rejected row (stage,
    reason, score and detail of the verdict)."""
    if verdict.keep:
        return with_scores(record, **verdict.scores) if verdict.scores else record
    return record.reject(stage, verdict.reason, score=verdict.score, detail=verdict.detail)


class Filter(Stage):
    """A stage that keeps or drops each record, whole and unchanged but for its scores.
    Subclasses implement ``keep``; ``process`` is ``apply_verdict`` of it and is not
    overridden."""

    def keep(self, record: Any) -> Verdict:
        raise NotImplementedError

    def process(self, record: Any) -> Iterator[Any]:
        yield apply_verdict(self.name, record, self.keep(record))


def split(outputs: Iterable[Any]) -> tuple[list[Any], list[RejectedRecord]]:
    """Separate kept records from rejected ones (handy in tests)."""
    kept, rejected = [], []
    for out in outputs:
        (rejected if isinstance(out, RejectedRecord) else kept).append(out)
    return kept, rejected
