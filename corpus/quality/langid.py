"""Language identification: script shares, or a fastText language-ID model when one is given.

The paper keeps Chinese (and the English inside it). ``clean.language`` already drops text whose
CJK share is under a threshold; this filter *labels* every document with a language and a score
(``quality.lang``, ``quality.lang_score``, ``quality.cjk_ratio``, ``quality.latin_ratio``) and
keeps the languages of ``LanguageConfig.keep``:

* without a model, the language comes from the script shares, counted as ``clean.language``
  counts them (CJK characters and English words over letter tokens): ``zh`` when the CJK share
  is at least ``min_script_share``, ``en`` when the English-word share is, ``mixed`` otherwise;
  the score is that share;
* with a fastText language-ID model (``LanguageConfig.model``, e.g. fastText's public
  ``lid.176.bin``, whose labels are ``__label__zh``, ``__label__ja``...), the model's top label
  is the language and its probability the score; a document under ``min_model_score`` is dropped
  as ``lang:uncertain``. The model reads the raw text with newlines as spaces (lid.176 was
  trained on such lines).

A document in a language not kept is dropped with reason ``lang:<language>``, so ``stats.json``
counts drops per language.
"""

from __future__ import annotations

from typing import Any, ClassVar

from corpus.document import Document
from corpus.quality.config import LanguageConfig
from corpus.quality.resources import local_copy
from corpus.quality.spam import load_fasttext
from corpus.stage import Filter, Verdict
from corpus.tokens import cjk_share

LABEL_PREFIX = "__label__"


class LanguageFilter(Filter):
    """Filter: reasons ``lang:<language>`` and ``lang:uncertain``; stores ``lang``,
    ``lang_score``, ``cjk_ratio`` and ``latin_ratio``."""

    name: ClassVar[str] = "quality.language"

    def __init__(self, cfg: LanguageConfig | None = None):
        self.cfg = cfg or LanguageConfig()
        self._model: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"cfg": self.cfg, "_model": None}

    def setup(self) -> None:
        if self.cfg.model and self._model is None:
            self._model = load_fasttext(local_copy(self.cfg.model))

    def identify(self, text: str, shares: tuple[float, float] | None = None
                 ) -> tuple[str, float]:
        """``(language, score)`` of ``text`` (see the module docstring); ``shares`` are its
        ``cjk_share`` if already known."""
        if self._model is not None:
            labels, probs = self._model.predict(" ".join(text.split()), k=1)
            if not labels:
                return "unknown", 0.0
            label = labels[0]
            lang = label[len(LABEL_PREFIX):] if label.startswith(LABEL_PREFIX) else label
            return lang, min(float(probs[0]), 1.0)
        cjk, latin = shares or cjk_share(text)
        share = self.cfg.min_script_share
        if cjk >= share:
            return "zh", cjk
        if latin >= share:
            return "en", latin
        return "mixed", max(cjk, latin)

    def keep(self, record: Document) -> Verdict:
        text = record.text
        cjk, latin = record.script_shares()
        lang, score = self.identify(text, (cjk, latin))
        if self._model is not None and score < self.cfg.min_model_score:
            return Verdict.drop("lang:uncertain", score,
                                f"top language {lang} at {score:.3f} < "
                                f"{self.cfg.min_model_score}")
        if lang not in self.cfg.keep:
            return Verdict.drop(f"lang:{lang}", score,
                                f"language {lang} ({score:.3f}) not in {self.cfg.keep}")
        return Verdict.ok(score, lang=lang, lang_score=score, cjk_ratio=cjk, latin_ratio=latin)
