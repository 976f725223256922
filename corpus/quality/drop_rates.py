"""Which filter drops what, per source: the share of documents each stage of a chain drops.

Issue 16.4: a change that starts eating good text must show up in numbers. ``drop_rates`` runs
documents through a chain of stages (the cleaning and quality stages ``m6 corpus`` runs, in
order) and credits each dropped document to the first stage that rejected it, by source, keeping
a few dropped texts per stage as examples. ``bench/bench_filters_zh.py`` prints it for the real
Chinese text of the dev data; ``tests/corpus/quality/test_drop_rates.py`` pins it on a committed
sample.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from corpus.document import Document
from corpus.stage import Stage
from schemas import RejectedRecord


@dataclass
class DropRates:
    documents: Counter[str] = field(default_factory=Counter)  # source -> documents in
    dropped: Counter[tuple[str, str]] = field(default_factory=Counter)  # (source, stage)
    reasons: Counter[tuple[str, str]] = field(default_factory=Counter)  # (stage, reason)
    examples: dict[str, list[str]] = field(default_factory=dict)  # stage -> dropped texts

    def rate(self, source: str, stage: str | None = None) -> float:
        """Share of ``source``'s documents dropped by ``stage`` (by any stage when None)."""
        n = self.documents[source]
        if not n:
            return 0.0
        got = sum(v for (s, st), v in self.dropped.items()
                  if s == source and (stage is None or st == stage))
        return got / n

    def stages(self) -> list[str]:
        return list(dict.fromkeys(st for _, st in sorted(self.dropped)))


def drop_rates(stages: Sequence[Stage], docs: Iterable[Document],
               examples: int = 3) -> DropRates:
    """Run each document through ``stages`` in order; count the stage that dropped it."""
    out = DropRates()
    for stage in stages:
        stage.setup()
    for doc in docs:
        out.documents[doc.source] += 1
        records: list = [doc]
        for stage in stages:
            nxt = []
            reason = "dropped"
            for rec in records:
                for res in stage.process(rec):
                    if isinstance(res, RejectedRecord):
                        # a per-paragraph stage may reject part of a document; the document
                        # counts as dropped only when nothing of it is left
                        reason = res.reason
                    else:
                        nxt.append(res)
            if not nxt:
                out.dropped[(doc.source, stage.name)] += 1
                out.reasons[(stage.name, reason)] += 1
                ex = out.examples.setdefault(stage.name, [])
                if len(ex) < examples:
                    ex.append(f"[{doc.source}] {reason}: {doc.text[:80]!r}")
                break
            records = nxt
    return out
