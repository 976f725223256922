"""Perplexity of a text under a kenlm model, and the reference distribution thresholds come from.

Perplexity follows cc_net (``cc_net/perplexity.py``): each line is scored with begin and end of
sentence, the log10 probabilities are summed over the lines of a document, and the document's
perplexity is ``10 ** (-sum_log10 / sum_units)`` where every line adds one unit for ``</s>``.

A *reference distribution* is a table of 101 perplexities: the 0th, 1st, ..., 100th percentile
over a body of reference text, one table for documents and one for paragraphs (lines). cc_net
cut its crawl into head/middle/tail at the 30th and 60th percentiles of such a table; the
perplexity filter reads thresholds and buckets from it (``PerplexityConfig``). ``m6 lm train``
stores the table of its held-out documents in the model's metadata; ``m6 lm reference`` computes
one over any text (a sample of the crawl itself, as cc_net did).

The metadata of a model ``M`` lives in ``M.json`` beside it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from corpus.quality.lm_text import Units

PERCENTILES = 101  # a table holds the 0th..100th percentiles


def metadata_path(model: str | Path) -> Path:
    return Path(str(model) + ".json")


def load_metadata(model: str | Path) -> dict[str, Any]:
    """The ``<model>.json`` written by ``m6 lm train``; a clear error if it is missing."""
    path = metadata_path(model)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path} not found: the kenlm model {model} needs the metadata file 'm6 lm train' "
            "writes beside it (order, unit, reference distribution); retrain it with "
            "'m6 lm train --input ... --out MODEL'") from None


def score_lines(model: Any, lines: Sequence[tuple[bytes, int]]) -> tuple[float, int]:
    """``(sum of log10 probabilities, units including one </s> per line)`` of ``lines``."""
    score = model.score
    logp = 0.0
    units = 0
    for line, n in lines:
        logp += score(line, True, True)
        units += n + 1
    return logp, units


def score_document(model: Any, units: Units, text: str) -> tuple[float, int]:
    """``score_lines`` of ``text``'s lines without building per-line counts (faster)."""
    lines, n = units.document(text)
    score = model.score
    logp = 0.0
    for line in lines:
        logp += score(line, True, True)
    return logp, n + len(lines)


def perplexity(logp: float, units: int) -> float:
    return 10.0 ** (-logp / units) if units else math.nan


def text_perplexities(model: Any, units: Units, text: str) -> tuple[float, list[float]]:
    """``(document perplexity, [perplexity of each non-empty line])`` of ``text``."""
    lines = units.lines(text)
    para = [perplexity(model.score(line, True, True), n + 1) for line, n in lines]
    return perplexity(*score_lines(model, lines)), para


def percentile_table(values: Iterable[float]) -> list[float]:
    """The 0th..100th percentiles of ``values`` (linear interpolation); [] when empty."""
    arr = np.asarray([v for v in values if math.isfinite(v)], dtype=np.float64)
    if arr.size == 0:
        return []
    return [round(float(x), 4) for x in np.percentile(arr, np.arange(PERCENTILES))]


def value_at(table: Sequence[float], percentile: float) -> float:
    """The perplexity at ``percentile`` (0..100) of ``table``, interpolating between entries."""
    if len(table) != PERCENTILES:
        raise ValueError(f"a reference table has {PERCENTILES} entries (0th..100th percentile), "
                         f"this one has {len(table)}")
    return float(np.interp(percentile, np.arange(PERCENTILES), table))


def percentile_of(table: Sequence[float], value: float) -> float:
    """Where ``value`` falls in ``table``, as a percentile (0..100)."""
    return float(np.interp(value, table, np.arange(PERCENTILES)))


def reference_distribution(model: Any, units: Units, texts: Iterable[str],
                           source: str) -> dict[str, Any]:
    """Score ``texts`` and return the reference object stored in metadata / reference files."""
    docs: list[float] = []
    paras: list[float] = []
    for text in texts:
        doc, para = text_perplexities(model, units, text)
        if para:
            docs.append(doc)
            paras.extend(para)
    return {
        "source": source,
        "documents": len(docs),
        "paragraphs": len(paras),
        "document_percentiles": percentile_table(docs),
        "paragraph_percentiles": percentile_table(paras),
    }


def load_reference(model: str | Path, reference: str | Path | None) -> dict[str, Any]:
    """The reference object of a ``m6 lm reference`` file, else the model's metadata's."""
    if reference:
        try:
            ref = json.loads(Path(reference).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"perplexity reference {reference} not found; make one "
                                    "with 'm6 lm reference --model M --input TEXT --out R'"
                                    ) from None
        ref = ref.get("reference", ref)
    else:
        ref = load_metadata(model).get("reference") or {}
    if not ref.get("document_percentiles"):
        raise ValueError(f"no reference distribution in {reference or metadata_path(model)}: "
                         "the model was trained without held-out text; set an absolute "
                         "threshold (perplexity.max_perplexity) or make a reference with "
                         "'m6 lm reference'")
    return ref


SAMPLE_MARK = "data/sample/"
# A reference smaller than this is a demonstration, not a reference (the sample's has 91).
MIN_REFERENCE_DOCUMENTS = 10_000


def model_fit_warning(model: str | None, inputs: Sequence[str]) -> str | None:
    """A warning when the kenlm model was trained on the project's sample (or on few documents)
    and the run reads other input: its thresholds do not fit real text (issue 16.3: the sample
    model dropped 10% of 50,000 real pages). None when the model fits or says nothing."""
    if not model:
        return None
    try:
        meta = load_metadata(model)
    except (OSError, ValueError):
        return None
    corpus = meta.get("corpus") or {}
    trained = [str(p) for p in corpus.get("inputs") or []]
    docs = int(corpus.get("documents") or 0)
    on_sample = bool(trained) and all(SAMPLE_MARK in p.replace("\\", "/") for p in trained)
    other_input = any(SAMPLE_MARK not in str(p).replace("\\", "/") for p in inputs)
    if not other_input or not (on_sample or 0 < docs < MIN_REFERENCE_DOCUMENTS):
        return None
    what = ", ".join(trained[:3]) + (" ..." if len(trained) > 3 else "")
    return (f"quality.perplexity.model={model} was trained on {docs:,} documents ({what})"
            f"{', the sample' if on_sample else ''}, and this run reads other input: its "
            "thresholds will drop ordinary text as perplexity_too_high. Train a reference on a "
            "large clean corpus, e.g. 'm6 lm train --input zhwiki-latest-pages-articles.xml.bz2 "
            "--out zhwiki.char5.bin' (docs/quality.md, 'A reference model').")
