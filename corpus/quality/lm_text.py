"""Text as a kenlm language model sees it: one line per paragraph, units separated by spaces.

The same function turns text into model input at training time (``m6 lm train`` feeds it to
``lmplz``) and at scoring time (``PerplexityFilter``), so the two can never disagree.

Normalisation (after cc_net's ``text_normalizer.normalize``, which lowercases and maps every digit
to 0 before scoring): ASCII letters are lowercased and the digits 1-9 become ``0``, so ``2008年``
and ``1997年`` are the same four units to the model. The cleaning stages have already folded
full-width letters and digits to ASCII (``corpus/clean/chars.py``), so ASCII-only folding is
enough, and it runs on UTF-8 bytes at memory speed.

Units:

* ``char``: every non-whitespace character is one unit (a Chinese character, a Latin letter, a
  punctuation mark). Whitespace separates nothing in Chinese and is not a unit. Built with numpy
  on UTF-32 (a space before every character), because Python's ``" ".join(text)`` costs about
  300 ns per Chinese character, more than kenlm's scoring itself; the perplexity filter's
  budget is 1.2x raw kenlm (``bench/bench_quality.py``).
* ``wordpiece``: the tokens of a WordPiece tokenizer (``tokenizers`` JSON), e.g. the one
  ``m6 tokenizer train`` writes or the one ``m6 lm train --unit wordpiece`` trains beside the
  model. A BERT-style WordPiece splits Chinese into characters and English into sub-words.

``Units.lines(text)`` returns ``[(line_bytes, n_units), ...]`` for the non-empty lines of
``text``: bytes, because ``kenlm.Model.score`` accepts bytes and would otherwise encode again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

UNITS = ("char", "wordpiece")

# bytes.translate table: digits 1-9 -> 0 (ASCII); bytes.lower() does the letters.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
# Whitespace other than newlines; removed before units are made (not a unit, see above).
_SPACES_RE = re.compile(r"[^\S\n]+")


def normalize_bytes(text: str) -> bytes:
    """UTF-8 of ``text`` with ASCII letters lowercased and ASCII digits 1-9 mapped to 0."""
    return text.encode("utf-8", "replace").lower().translate(_DIGITS_TO_ZERO)


def char_lines(text: str) -> list[tuple[bytes, int]]:
    """``text`` as char units: ``[(b" x y z", 3), ...]``, one entry per non-empty line.

    Every character gets a space before it (numpy on UTF-32, one pass), so a line's unit
    count is its number of spaces; whitespace (any Unicode space but newlines) is removed first.
    """
    text = _SPACES_RE.sub("", text)  # returns ``text`` itself when there is none
    if not text:
        return []
    a = np.frombuffer(text.encode("utf-32-le", "replace"), dtype=np.uint32)
    out = np.empty((a.size, 2), dtype=np.uint32)
    out[:, 0] = 0x20
    out[:, 1] = a
    raw = out.tobytes().decode("utf-32-le").encode("utf-8").lower().translate(_DIGITS_TO_ZERO)
    # Each newline has its inserted space before it, so " \n" separates lines exactly.
    return [(ln, ln.count(b" ")) for ln in raw.split(b" \n") if len(ln) > 1]


@dataclass(frozen=True)
class Units:
    """Turns text into kenlm input for one unit kind. ``tokenizer`` is a ``tokenizers`` JSON
    file, required for ``wordpiece``. Picklable: the tokenizer is loaded on first use."""

    unit: str = "char"
    tokenizer: str | None = None

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unknown LM unit {self.unit!r}; expected one of {UNITS}")
        if self.unit == "wordpiece" and not self.tokenizer:
            raise ValueError("unit 'wordpiece' needs a tokenizer JSON file (tokenizers format); "
                             "train one with 'm6 tokenizer train' or let 'm6 lm train' train it")

    def lines(self, text: str) -> list[tuple[bytes, int]]:
        """Non-empty lines of ``text`` as ``(space-separated units as UTF-8, unit count)``."""
        if self.unit == "char":
            return char_lines(text)
        return self._wordpiece_lines(text)

    def _wordpiece_lines(self, text: str) -> list[tuple[bytes, int]]:
        tok = _load_tokenizer(self.tokenizer)
        lines = [ln for ln in normalize_bytes(text).decode("utf-8").split("\n") if ln.strip()]
        if not lines:
            return []
        out = []
        for enc in tok.encode_batch(lines, add_special_tokens=False):
            if enc.tokens:
                out.append((" ".join(enc.tokens).encode("utf-8"), len(enc.tokens)))
        return out


_TOKENIZERS: dict[str, object] = {}


def _load_tokenizer(path: str | None):
    tok = _TOKENIZERS.get(path)
    if tok is None:
        from tokenizers import Tokenizer

        try:
            tok = Tokenizer.from_file(str(path))
        except Exception as e:  # tokenizers raises a bare Exception on a bad or missing file
            raise ValueError(f"cannot load the WordPiece tokenizer {path!r}: {e}") from e
        _TOKENIZERS[path] = tok
    return tok


def train_wordpiece(texts, out_path: str, vocab_size: int = 8000) -> None:
    """Train a BERT-style WordPiece tokenizer (lowercase, Chinese characters split) on
    ``texts`` and save it as a ``tokenizers`` JSON file."""
    from tokenizers.implementations import BertWordPieceTokenizer

    tok = BertWordPieceTokenizer(clean_text=True, handle_chinese_chars=True,
                                 strip_accents=False, lowercase=True)
    tok.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=2,
                            show_progress=False, special_tokens=["[UNK]"])
    tok.save(out_path)
