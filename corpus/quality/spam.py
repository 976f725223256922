"""The spam filter: a fastText classifier scores each document; likely spam is dropped.

Paper section 2.3: "We further apply in-house spam detection". Here the detector is a fastText
supervised classifier (Joulin et al. 2017, "Bag of Tricks"), trained by ``m6 spam train`` on a
labelled JSONL file (``{"text": ..., "label": "spam" | "ham"}``; the sample ships
``data/sample/spam/labelled.jsonl``). fastText splits on whitespace, so ``features`` turns text
into tokens first, the same way for training and scoring: a URL is the token ``<url>`` (its
dots and letters would otherwise teach the model that ``.`` means spam), each CJK character is
a token (with
``wordNgrams=2`` the model also sees character bigrams), ASCII letters form lowercase words,
a digit run becomes its length class (``<num11>`` for a mobile phone number, ``<num5>`` for a
QQ-like id), and every other non-space character is a token of its own.

``SpamFilter`` loads the model once per worker (``setup``), stores ``quality.spam_score`` (the
probability of the spam label) on kept documents and drops documents above
``SpamConfig.max_score`` with reason ``spam``. ``quality_stages`` adds it only when
``SpamConfig.model`` is set.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from corpus.document import Document
from corpus.quality.config import SpamConfig
from corpus.quality.resources import local_copy
from corpus.stage import Filter, Verdict
from corpus.tokens import CJK_CLASS

_URL_RE = re.compile(r"(?:https?://|www\.)[\w./?=&%#~+-]+|[a-z0-9-]+(?:\.[a-z0-9-]+)*"
                     r"\.(?:com|net|org|cn|cc|vip|top|xyz|info|me|io)\b[\w./?=&%#~+-]*")
_TOKEN_RE = re.compile(f"[{CJK_CLASS}]|[a-z]+|[0-9]+|[^\\s{CJK_CLASS}a-z0-9]")
MAX_DIGIT_CLASS = 12


# The tokens above, found in one pass over the whole text rather than chunk by chunk: split at
# what is not one token per character (a chunk that is exactly ``<url>``, what ``_URL_RE``
# leaves; a run of letters; a run of digits, which becomes its length class), every other
# non-space character (CJK, symbols) is a token of its own. Every non-space character belongs to
# some token, so the chunks' boundaries add nothing else. Token by token, the features were
# most of the spam filter's time.
_SPLIT_RE = re.compile(r"((?<!\S)<url>(?!\S)|[a-z]+|[0-9]+)")
_NUMBER_CLASS = tuple(f"<num{min(n, MAX_DIGIT_CLASS)}>" for n in range(MAX_DIGIT_CLASS + 1))


def features(text: str) -> str:
    """``text`` as the space-separated tokens the classifier sees (one line)."""
    pieces = _SPLIT_RE.split(_URL_RE.sub(" <url> ", text.lower()))
    parts = []
    for i, piece in enumerate(pieces):
        if i % 2:  # a letter run, a digit run or <url>
            parts.append(_NUMBER_CLASS[min(len(piece), MAX_DIGIT_CLASS)]
                         if piece[0] in "0123456789" else piece)
        else:  # one token per character that is not a space
            chars = "".join(piece.split())
            if chars:
                parts.append(" ".join(chars))
    return " ".join(parts)


def load_fasttext(path: str) -> Any:
    import fasttext

    try:
        return fasttext.load_model(path)
    except ValueError as e:
        raise ValueError(f"cannot load the fastText model {path!r}: {e}") from e


class SpamFilter(Filter):
    """Filter: reason ``spam``; stores ``quality.spam_score``."""

    name: ClassVar[str] = "quality.spam"

    def __init__(self, cfg: SpamConfig):
        if not cfg.model:
            raise ValueError("SpamFilter needs a model (quality.spam.model); train one with "
                             "'m6 spam train --input labelled.jsonl --out model.bin'")
        self.cfg = cfg
        self._model: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"cfg": self.cfg, "_model": None}

    def setup(self) -> None:
        if self._model is not None:
            return
        model = load_fasttext(local_copy(self.cfg.model, (".json",)))
        self._label = f"__label__{self.cfg.label}"
        if self._label not in model.get_labels():
            raise ValueError(f"the spam model {self.cfg.model} has labels {model.get_labels()}, "
                             f"not {self._label} (quality.spam.label)")
        self._n_labels = len(model.get_labels())
        self._model = model

    def score(self, text: str) -> float:
        """Probability of the spam label for ``text``."""
        labels, probs = self._model.predict(features(text), k=self._n_labels)
        for label, p in zip(labels, probs):
            if label == self._label:
                return min(float(p), 1.0)
        return 0.0

    def keep(self, record: Document) -> Verdict:
        p = self.score(record.text)
        if p > self.cfg.max_score:
            return Verdict.drop("spam", p, f"P(spam) {p:.3f} > {self.cfg.max_score}")
        return Verdict.ok(p, spam_score=p)
