"""The filter thresholds of a corpus run, read from its ``config.json``, to draw on the histograms.

Most thresholds are plain numbers in the config (``clean.min_text_chars``,
``images.filters.min_pixels``, ...). The perplexity threshold is usually relative: a percentile
of the language model's reference distribution times a margin, so it is computed the way the
filter computes it (``corpus.quality.perplexity.resolve_thresholds``) from the model's metadata
file. When that file cannot be found from here (the report is made on another machine, say),
the threshold is left out and the report says why, rather than drawing a wrong line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from corpus.config import CorpusConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Threshold:
    value: float
    label: str  # e.g. "min 15 chars", shown beside the line


@dataclass
class Thresholds:
    length: dict[str, list[Threshold]] = field(default_factory=dict)  # "text" | "image_text"
    perplexity: list[Threshold] = field(default_factory=list)
    perplexity_note: str = ""  # why there is no perplexity line, when there is none
    images: dict[str, list[Threshold]] = field(default_factory=dict)  # metric -> lines
    notes: list[str] = field(default_factory=list)


def thresholds(config: dict[str, Any] | None) -> Thresholds:
    """The thresholds in ``config`` (a ``config.json`` dict; None gives none)."""
    out = Thresholds()
    if config is None:
        out.notes.append("no config.json beside the shards: thresholds are not drawn")
        out.perplexity_note = "no config.json"
        return out
    try:
        if not isinstance(config, dict):
            raise TypeError(f"a JSON {type(config).__name__}, not an object")
        cfg = CorpusConfig.from_dict(config, where="config.json")
        _numbers(cfg, out)
        if not (cfg.quality.enabled and cfg.quality.perplexity.model):
            out.perplexity_note = "the perplexity filter was off in this run"
            return out
        _perplexity(cfg, out)
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        # AttributeError: a part given as null ({"clean": null}) comes back as None
        out = Thresholds(perplexity_note="config.json not readable")
        out.notes.append(f"config.json could not be read as this version's config ({e}); "
                         "thresholds are not drawn")
    return out


def _numbers(cfg: CorpusConfig, out: Thresholds) -> None:
    """The plain-number thresholds: lengths and image filters."""
    out.length["text"] = [Threshold(cfg.clean.min_text_chars,
                                    f"min {cfg.clean.min_text_chars} chars")]
    pair_text = cfg.images.text
    out.length["image_text"] = [Threshold(pair_text.min_chars, f"min {pair_text.min_chars}"),
                                Threshold(pair_text.max_chars, f"cut at {pair_text.max_chars}")]
    f = cfg.images.filters
    out.images = {
        "pixels": [Threshold(f.min_pixels, f"min {f.min_pixels:,} px")],
        "aspect_ratio": [Threshold(f.max_aspect_ratio, f"max {f.max_aspect_ratio:g}")],
        "sharpness": [Threshold(f.min_sharpness, f"min {f.min_sharpness:g}")],
        "entropy": [Threshold(f.min_entropy, f"min {f.min_entropy:g} bits")],
        "colourfulness": [Threshold(f.min_colourfulness, f"min {f.min_colourfulness:g}")]
        if f.min_colourfulness > 0 else [],
        "jpeg_quality": [Threshold(f.min_jpeg_quality, f"min {f.min_jpeg_quality:g}")],
    }


def _perplexity(cfg: CorpusConfig, out: Thresholds) -> None:
    from corpus.quality.perplexity import resolve_thresholds

    pcfg = cfg.quality.perplexity
    if "://" in pcfg.model and not pcfg.model.startswith("file://"):
        out.perplexity_note = (f"the perplexity threshold is not drawn: the model {pcfg.model} "
                               "is remote (its reference distribution is read from local files)")
        return
    try:
        t = resolve_thresholds(pcfg, pcfg.model.removeprefix("file://"))
    except (OSError, ValueError) as e:
        out.perplexity_note = (f"the perplexity threshold is not drawn: it needs the model's "
                               f"metadata ({pcfg.model}.json), which is not readable here ({e})")
        log.info("report: %s", out.perplexity_note)
        return
    if t.document is not None:
        out.perplexity.append(Threshold(t.document, f"max {t.document:,.0f}"))
    if pcfg.per_paragraph and t.paragraph is not None and t.paragraph != t.document:
        # paragraph_perplexity_too_high rows are scored per paragraph, against this line
        out.perplexity.append(Threshold(t.paragraph, f"paragraph max {t.paragraph:,.0f}"))
    if t.buckets is not None:
        out.perplexity += [Threshold(t.buckets[0], "head | middle"),
                           Threshold(t.buckets[1], "middle | tail")]
    out.notes.append(f"perplexity threshold: {t.how}")
