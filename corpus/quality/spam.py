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
from functools import cache
from typing import Any, ClassVar

import numpy as np

from corpus.codepoints import code_points, text_of
from corpus.document import Document
from corpus.quality.config import SpamConfig
from corpus.quality.resources import local_copy
from corpus.stage import Filter, Verdict
from corpus.tokens import CJK_CLASS

_URL_RE = re.compile(r"(?:https?://|www\.)[\w./?=&%#~+-]+|[a-z0-9-]+(?:\.[a-z0-9-]+)*"
                     r"\.(?:com|net|org|cn|cc|vip|top|xyz|info|me|io)\b[\w./?=&%#~+-]*")
_TOKEN_RE = re.compile(f"[{CJK_CLASS}]|[a-z]+|[0-9]+|[^\\s{CJK_CLASS}a-z0-9]")
MAX_DIGIT_CLASS = 12


# The tokens above, found in one pass over the whole text with numpy rather than token by token
# (token by token, the features were most of the spam filter's time): every character gets a
# class (``_char_classes``: whitespace, a-z, 0-9, anything else), and a space goes before a
# character unless it continues a run of letters or digits; whitespace itself goes. A URL is
# replaced by ``_URL_MARK`` first, one character that ``str.lower`` never leaves in a text
# (U+FF21, the full-width ``A``: it lowercases to U+FF41), so it is one token like any symbol and
# becomes ``<url>`` at the end; a digit run becomes its length class. The test checks this
# against the chunk-by-chunk definition with ``_TOKEN_RE``.
_URL_HINT = re.compile(r"://|www\.|\.(?:com|net|org|cn|cc|vip|top|xyz|info|me|io)\b")
_URL_WORD_RE = re.compile(r"(?<!\S)<url>(?!\S)")  # "<url>" written in the text is one too
_URL_MARK = "\uff21"
_DIGITS_RE = re.compile("([0-9]+)")
_NUMBER_CLASS = tuple(f"<num{min(n, MAX_DIGIT_CLASS)}>" for n in range(MAX_DIGIT_CLASS + 1))
_WHITESPACE, _LETTER, _DIGIT, _OTHER = range(4)


@cache
def _char_classes() -> np.ndarray:
    """The class of every code point (1.1 MB, once per process); whitespace is what
    ``str.split`` splits at, and none lies above U+3000."""
    table = np.full(0x110000, _OTHER, dtype=np.uint8)
    table[[c for c in range(0x3001) if chr(c).isspace()]] = _WHITESPACE
    table[ord("a"):ord("z") + 1] = _LETTER
    table[ord("0"):ord("9") + 1] = _DIGIT
    return table


def _pair_keep() -> np.ndarray:
    """For (class before, class) as ``4 * before + class``: two bytes, whether to keep the space
    before the character and whether to keep the character, read as one uint16."""
    keep = np.zeros((16, 2), dtype=bool)
    for before in range(4):
        for cls in range(4):
            keep[4 * before + cls] = (cls != _WHITESPACE and (cls != before or cls == _OTHER),
                                      cls != _WHITESPACE)
    return keep.view(np.uint16).ravel()


_PAIR_KEEP = _pair_keep()


def features(text: str) -> str:
    """``text`` as the space-separated tokens the classifier sees (one line)."""
    low = text.lower()
    if _URL_HINT.search(low):  # what every URL has; most pages have none
        low = _URL_RE.sub(" " + _URL_MARK + " ", low)
    if "<url>" in low:
        low = _URL_WORD_RE.sub(_URL_MARK, low)
    # a space in front, so that every character has a class before it
    codes = code_points(" " + low)
    cls = _char_classes().take(codes)
    keep = _PAIR_KEEP.take((cls[:-1] << 2) | cls[1:]).view(bool)
    out = np.empty((codes.size - 1, 2), dtype=np.uint32)
    out[:, 0] = 0x20
    out[:, 1] = codes[1:]
    # [1:]: the space before the first token
    tokens = text_of(out.ravel()[keep])[1:]
    if _URL_MARK in tokens:
        tokens = tokens.replace(_URL_MARK, "<url>")
    parts = _DIGITS_RE.split(tokens)
    parts[1::2] = [_NUMBER_CLASS[min(len(p), MAX_DIGIT_CLASS)] for p in parts[1::2]]
    return "".join(parts)


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
