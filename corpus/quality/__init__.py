"""Quality filters of the paper's section 2.3: language, bad words, repetition, spam, perplexity.

``quality_stages(cfg)`` returns the stages in the order they run, cheap first:

1. ``LanguageFilter`` (``quality.language``): script shares or a fastText language-ID model;
   keeps ``LanguageConfig.keep``; labels ``lang``, ``lang_score``, ``cjk_ratio``, ``latin_ratio``;
2. ``BadWordsFilter`` (``quality.badwords``): one Aho-Corasick automaton over the LDNOOBW Chinese
   and English lists; reason ``badwords:<list>``; ``badword_ratio``;
3. ``RepetitionFilter`` (``quality.repetition``): Gopher's repetition rules with Chinese characters
   as words; reasons ``repetition:*``; ``dup_line_frac``, ``top_ngram_frac``;
4. ``SpamFilter`` (``quality.spam``), when ``SpamConfig.model`` is set: fastText classifier from
   ``m6 spam train``; reason ``spam``; ``spam_score``;
5. ``PerplexityFilter`` (``quality.perplexity``), when ``PerplexityConfig.model`` is set: kenlm
   model from ``m6 lm train``; reason ``perplexity_too_high``; ``perplexity``,
   ``perplexity_bucket``. With ``per_paragraph`` it is ``ParagraphPerplexity`` instead, a
   transforming stage of the same name that also cuts paragraphs
   (``paragraph_perplexity_too_high``).

Every filter answers ``keep(doc) -> Verdict`` and leaves its scores in the verdict;
``corpus.stage.apply_verdict`` stores them on a copy of a kept document.

Every threshold lives in ``QualityConfig`` (``corpus/quality/config.py``). Each stage is a plain
picklable object that loads its model or automaton in ``setup()``; none imports Beam.
"""

from __future__ import annotations

import logging

from corpus.quality.badwords import BadWordsFilter
from corpus.quality.config import (
    BadWordsConfig,
    LanguageConfig,
    PerplexityConfig,
    QualityConfig,
    RepetitionConfig,
    SpamConfig,
)
from corpus.quality.langid import LanguageFilter
from corpus.quality.perplexity import ParagraphPerplexity, PerplexityFilter, perplexity_stage
from corpus.quality.repetition import RepetitionFilter
from corpus.quality.resources import is_remote
from corpus.quality.spam import SpamFilter
from corpus.stage import Stage

__all__ = [
    "BadWordsConfig",
    "BadWordsFilter",
    "LanguageConfig",
    "LanguageFilter",
    "ParagraphPerplexity",
    "PerplexityConfig",
    "PerplexityFilter",
    "QualityConfig",
    "RepetitionConfig",
    "RepetitionFilter",
    "SpamConfig",
    "SpamFilter",
    "quality_stages",
]

log = logging.getLogger(__name__)


def _check_model(path: str, setting: str, how: str) -> None:
    from pathlib import Path

    if not is_remote(path) and not Path(path.removeprefix("file://")).is_file():
        raise FileNotFoundError(f"{setting}={path}: no such file; {how}")


def quality_stages(cfg: QualityConfig | None = None) -> list[Stage]:
    """The quality stages in the order they must run (see the module docstring)."""
    cfg = cfg or QualityConfig()
    stages: list[Stage] = []
    if cfg.language.enabled:
        stages.append(LanguageFilter(cfg.language))
        if cfg.language.model:
            _check_model(cfg.language.model, "quality.language.model",
                         "give a fastText language-ID model such as lid.176.bin")
    if cfg.badwords.enabled:
        stages.append(BadWordsFilter(cfg.badwords))
    if cfg.repetition.enabled:
        stages.append(RepetitionFilter(cfg.repetition))
    if cfg.spam.model:
        _check_model(cfg.spam.model, "quality.spam.model",
                     "train one with 'm6 spam train --input labelled.jsonl --out MODEL'")
        stages.append(SpamFilter(cfg.spam))
    else:
        log.warning("quality: no spam model (quality.spam.model), the spam filter is off; "
                    "'make corpus' trains one from data/sample/spam/labelled.jsonl")
    if cfg.perplexity.model:
        _check_model(cfg.perplexity.model, "quality.perplexity.model",
                     "train one with 'm6 lm train --input TEXT --out MODEL' (make lm-model)")
        stages.append(perplexity_stage(cfg.perplexity))
    else:
        log.warning("quality: no kenlm model (quality.perplexity.model), the perplexity filter "
                    "is off; 'make corpus' trains one from the sample encyclopedia")
    return stages
