"""The perplexity stages: score text with a kenlm n-gram model, drop what is not fluent.

Paper section 2.3: "we implement a language model to evaluate their perplexities, and sentences
with high perplexities are discarded". Perplexity and buckets follow cc_net
(``cc_net/perplexity.py``, Wenzek et al. 2020): per line log10 scores with begin/end of sentence,
summed over the document, ``10 ** (-logp / units)``; head/middle/tail by the 30th and 60th
percentiles of a reference distribution.

* ``PerplexityFilter`` (document mode, the default) is a ``Filter``: a document over the
  threshold is rejected with reason ``perplexity_too_high`` (score = its perplexity; detail = the
  threshold and where it came from). A kept document gets ``quality.perplexity`` and
  ``quality.perplexity_bucket``.
* ``ParagraphPerplexity`` (``per_paragraph``) is a transforming ``Stage``, not a filter, since it
  changes the text: each line is scored; a line of at least ``min_paragraph_units`` units over
  the paragraph threshold is cut and yielded as its own rejected row (reason
  ``paragraph_perplexity_too_high``, id derived from the document's); the document keeps its
  other lines and is scored on them. If every line is cut the document is rejected whole
  (``perplexity_too_high``). ``perplexity_stage(cfg)`` picks the one ``cfg`` asks for; both are
  named ``quality.perplexity``, so rejected rows and metrics do not depend on the mode.
* The threshold is ``max_perplexity`` if set, else ``percentile_margin`` times the
  ``max_percentile``-th percentile of the reference distribution (documents or paragraphs,
  matching the mode): the model's held-out text, or a ``m6 lm reference`` file.
* Text without any unit (empty, only whitespace) is passed on unscored: the length rule judges it.

The model is loaded once per worker in ``setup`` (kenlm memory-maps the binary), never per record;
the units are made exactly as ``m6 lm train`` made them (``lm_text``), as the model's metadata
says.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from corpus.document import Document
from corpus.quality.config import PerplexityConfig
from corpus.quality.lm_reference import (
    load_metadata,
    load_reference,
    perplexity,
    score_document,
    score_lines,
    value_at,
)
from corpus.quality.lm_text import Units
from corpus.quality.lm_train import resolve_tokenizer
from corpus.quality.resources import local_copy
from corpus.stage import Filter, Stage, Verdict, with_scores
from schemas import make_id
from schemas.records import replace

log = logging.getLogger(__name__)

BUCKETS = ("head", "middle", "tail")


@dataclass(frozen=True)
class PerplexityThresholds:
    """Where the filter cuts: ``document`` and ``paragraph`` maxima (None: no drop), the
    head/middle/tail bucket boundaries (None without a reference) and how the maxima were set."""

    document: float | None
    paragraph: float | None
    buckets: tuple[float, float] | None
    how: str


def resolve_thresholds(cfg: PerplexityConfig, model_path: str | Path) -> PerplexityThresholds:
    """The thresholds ``cfg`` gives with the model at ``model_path`` (a local file; only its
    ``.json`` metadata is read, and the reference file if ``cfg.reference`` names one). The filter
    uses this in ``setup``; ``m6 report`` uses it to draw the cut on the perplexity histogram."""
    doc_max = para_max = cfg.max_perplexity
    how = f"max_perplexity {cfg.max_perplexity}"
    cuts: tuple[float, float] | None = None
    needs_ref = cfg.max_perplexity is None and cfg.max_percentile is not None
    try:
        ref = load_reference(model_path, cfg.reference)
    except ValueError:
        if needs_ref:
            raise
        ref = None  # an absolute threshold works without one; no buckets then
    if ref is not None:
        docs, paras = ref["document_percentiles"], ref.get("paragraph_percentiles") or []
        cuts = (value_at(docs, cfg.bucket_percentiles[0]), value_at(docs, cfg.bucket_percentiles[1]))
        if needs_ref:
            p, m = cfg.max_percentile, cfg.percentile_margin
            doc_max = value_at(docs, p) * m
            para_max = value_at(paras or docs, p) * m
            how = f"{m} x p{p:g} of the reference ({ref.get('source', '?')})"
    return PerplexityThresholds(doc_max, para_max, cuts, how)


class KenlmScorer:
    """The kenlm model and thresholds both perplexity stages share (a mixin, not a stage):
    ``setup`` loads them once per worker; pickling leaves the model behind."""

    name: ClassVar[str] = "quality.perplexity"

    def __init__(self, cfg: PerplexityConfig):
        if not cfg.model:
            raise ValueError(f"{type(self).__name__} needs a kenlm model "
                             "(quality.perplexity.model); train one with "
                             "'m6 lm train --input TEXT --out MODEL'")
        self.cfg = cfg
        self._model: Any = None

    def __getstate__(self) -> dict[str, Any]:
        # The kenlm model is not picklable; a worker loads its own in setup().
        return {"cfg": self.cfg, "_model": None}

    def setup(self) -> None:
        if self._model is not None:
            return
        import kenlm

        cfg = self.cfg
        path = local_copy(cfg.model, (".json", ".tokenizer.json"))
        meta = load_metadata(path)
        self._units = Units(meta.get("unit", "char"), resolve_tokenizer(path, meta))
        t = resolve_thresholds(cfg, path)
        self._doc_max, self._para_max, self._cuts, self._how = (
            t.document, t.paragraph, t.buckets, t.how)
        self._model = kenlm.Model(path)
        log.info("perplexity: model %s (%s, order %d), document threshold %s, paragraph "
                 "threshold %s, buckets %s", cfg.model, self._units.unit, self._model.order,
                 _fmt(t.document), _fmt(t.paragraph), t.buckets)

    @property
    def thresholds(self) -> tuple[float | None, float | None]:
        """``(document threshold, paragraph threshold)``; None means no drop. After setup()."""
        return self._doc_max, self._para_max

    def bucket(self, ppl: float) -> str | None:
        cuts = self._cuts
        if cuts is None:
            return None
        return "head" if ppl < cuts[0] else "middle" if ppl < cuts[1] else "tail"

    def score(self, text: str) -> float | None:
        """Perplexity of ``text`` as a document (None when it has no units)."""
        logp, n = score_document(self._model, self._units, text)
        return perplexity(logp, n) if n else None


class PerplexityFilter(KenlmScorer, Filter):
    """Filter: reason ``perplexity_too_high``; stores ``perplexity`` and ``perplexity_bucket``."""

    def __init__(self, cfg: PerplexityConfig):
        if cfg.per_paragraph:
            raise ValueError("per_paragraph cuts paragraphs out of the text: that is "
                             "ParagraphPerplexity (perplexity_stage(cfg) picks it)")
        super().__init__(cfg)

    def keep(self, record: Document) -> Verdict:
        logp, n = score_document(self._model, self._units, record.text)
        if not n:
            return Verdict.ok()
        ppl = 10.0 ** (-logp / n)
        limit = self._doc_max
        if limit is not None and ppl > limit:
            return Verdict.drop("perplexity_too_high", ppl,
                                f"perplexity {ppl:.1f} > {limit:.1f} ({self._how})")
        return Verdict.ok(ppl, perplexity=ppl, perplexity_bucket=self.bucket(ppl))


class ParagraphPerplexity(KenlmScorer, Stage):
    """Stage: cuts paragraphs over the paragraph threshold (one rejected row each, reason
    ``paragraph_perplexity_too_high``), rejects a document with nothing left
    (``perplexity_too_high``), stores ``perplexity`` and ``perplexity_bucket`` of what is left."""

    def process(self, record: Document) -> Iterator[Any]:
        model, units, limit = self._model, self._units, self._para_max
        kept: list[str] = []
        cut: list[tuple[int, str, float]] = []
        logp_sum, n_sum = 0.0, 0
        for i, para in enumerate(p for p in record.text.split("\n") if p.strip()):
            lines = units.lines(para)
            if not lines:
                kept.append(para)
                continue
            logp, n = score_lines(model, lines)
            ppl = perplexity(logp, n)
            if limit is not None and ppl > limit and n - len(lines) >= self.cfg.min_paragraph_units:
                cut.append((i, para, ppl))
                continue
            kept.append(para)
            logp_sum += logp
            n_sum += n
        if not n_sum and not cut:
            yield record  # nothing to score
            return
        if not n_sum:
            worst = max(p for _, _, p in cut)
            yield record.reject(self.name, "perplexity_too_high", score=worst,
                                detail=f"all {len(cut)} scored paragraphs over {limit:.1f} "
                                       f"({self._how})")
            return
        for i, para, ppl in cut:
            rej = record.reject(self.name, "paragraph_perplexity_too_high", score=ppl,
                                detail=f"paragraph {i} of document {record.id}: perplexity "
                                       f"{ppl:.1f} > {limit:.1f} ({self._how})")
            yield replace(rej, id=make_id(record.source, f"{record.id}#paragraph{i}"), text=para)
        ppl = perplexity(logp_sum, n_sum)
        doc = record.replace(text="\n".join(kept)) if cut else record
        yield with_scores(doc, perplexity=ppl, perplexity_bucket=self.bucket(ppl))


def perplexity_stage(cfg: PerplexityConfig) -> PerplexityFilter | ParagraphPerplexity:
    """The perplexity stage ``cfg`` asks for: ``ParagraphPerplexity`` with ``per_paragraph``,
    else ``PerplexityFilter``."""
    return ParagraphPerplexity(cfg) if cfg.per_paragraph else PerplexityFilter(cfg)


def _fmt(x: float | None) -> str:
    return "none" if x is None else f"{x:.1f}"
