"""Text as a kenlm language model sees it: one line per paragraph, units separated by spaces.

The same function turns text into model input at training time (``m6 lm train`` feeds it to
``lmplz``) and at scoring time (``PerplexityFilter``), so the two can never disagree.

Normalisation (after cc_net's ``text_normalizer.normalize``, which lowercases and maps every digit
to 0 before scoring): ASCII letters are lowercased and the digits 1-9 become ``0``, so ``2008年``
and ``1997年`` are the same four units to the model. The cleaning stages have already folded
full-width letters and digits to ASCII (``corpus/clean/chars.py``), so ASCII-only folding is
enough, and it runs on UTF-8 bytes at memory speed.

Units:

* ``char``: every character is one unit (a Chinese character, a Latin letter, a punctuation
  mark) except kenlm's own separators (ASCII space, tab, CR, VT, FF; ``util/spaces.cc``):
  whitespace separates nothing in Chinese. U+3000 and U+00A0 become ASCII spaces first, NUL is
  dropped (it would end kenlm's C string); the cleaning stages have already mapped every other
  Unicode space to an ASCII one. A space goes before every character, with numpy on UTF-32 for
  long texts and ``str.join`` for short ones (where numpy's per-call cost would dominate),
  because Python's ``" ".join(text)`` alone costs about twice what kenlm needs to score the
  result; the perplexity filter's budget is 1.2x raw kenlm (``bench/bench_quality.py``).
* ``wordpiece``: the tokens of a WordPiece tokenizer (``tokenizers`` JSON), e.g. the one
  ``m6 tokenizer train`` writes or the one ``m6 lm train --unit wordpiece`` trains beside the
  model. A BERT-style WordPiece splits Chinese into characters and English into sub-words.

Script: Traditional text is converted to Simplified before it becomes units (OpenCC, only when it
has a Traditional character: ``corpus/quality/zh_script.py``), at training and at scoring time,
so a Traditional page is scored like its Simplified translation against a Simplified reference
(issue 16.3: a Simplified-only model dropped Traditional pages whole). The text itself is kept as
written; only the model's view changes. ``script="as_written"`` turns this off.

``Units.lines(text)`` returns ``[(line_bytes, n_units), ...]`` for the non-empty lines of
``text``: bytes, because ``kenlm.Model.score`` accepts bytes and would otherwise encode again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from corpus.quality.zh_script import (
    has_traditional,
    has_traditional_codes,
    simplified_for_scoring,
    simplified_wording,
)

UNITS = ("char", "wordpiece")
SCRIPTS = ("simplified", "as_written")

# One bytes.translate table for both folds: ASCII A-Z -> a-z, digits 1-9 -> 0.
_FOLD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ123456789",
                        b"abcdefghijklmnopqrstuvwxyz000000000")
_KENLM_SPACES = "\t\x0b\x0c\r "  # and "\n", which separates lines
_SPACE_MAP = {0x3000: " ", 0xA0: " ", 0: None}
# Texts shorter than this are spaced with str.join, longer ones with numpy (measured crossover).
_NUMPY_FROM = 80
# Spaces to copy from (one copy is cheaper than filling); longer texts allocate their own.
_SPACES32 = np.full(1 << 15, 0x20, dtype=np.uint32)


def normalize_bytes(text: str) -> bytes:
    """UTF-8 of ``text`` with ASCII letters lowercased and ASCII digits 1-9 mapped to 0."""
    return text.encode("utf-8", "replace").translate(_FOLD)


def _map_spaces(text: str) -> str:
    if "\u3000" in text or "\xa0" in text or "\x00" in text:
        return text.translate(_SPACE_MAP)
    return text


def _prepare(text: str, simplify: bool) -> tuple[str, np.ndarray | None]:
    """``text`` with kenlm's spaces mapped (and in Simplified script when ``simplify`` and it
    has Traditional characters), with its UTF-32 code points when it is long enough for numpy:
    the Traditional check is then a table lookup on the array the spacing needs anyway."""
    text = _map_spaces(text)
    if len(text) < _NUMPY_FROM:
        if simplify and not text.isascii() and has_traditional(text):
            text = simplified_wording(text)
        return text, None
    codes = np.frombuffer(text.encode("utf-32-le", "replace"), dtype=np.uint32)
    if simplify and has_traditional_codes(codes):
        text = simplified_wording(text)
        codes = np.frombuffer(text.encode("utf-32-le", "replace"), dtype=np.uint32)
    return text, codes


def _spaced(text: str, codes: np.ndarray | None = None) -> bytes:
    """Folded UTF-8 of ``text`` with a space before every character (newlines included, so
    ``split(b"\\n")`` gives the lines, each ending with the space put before its newline);
    ``codes``: its UTF-32 code points when the caller has them."""
    if codes is None and len(text) < _NUMPY_FROM:
        spaced = " " + " ".join(text)
    else:
        a = codes if codes is not None else np.frombuffer(text.encode("utf-32-le", "replace"),
                                                          dtype=np.uint32)
        n = 2 * a.size
        out = _SPACES32[:n].copy() if n <= _SPACES32.size else np.full(n, 0x20, np.uint32)
        out[1::2] = a
        spaced = out.tobytes().decode("utf-32-le")
    return spaced.encode("utf-8", "replace").translate(_FOLD)


def _units_in(line: str) -> int:
    n = len(line)
    if line.isprintable() and " " not in line:  # the common case: nothing to subtract
        return n
    return n - sum(line.count(c) for c in _KENLM_SPACES)


def char_lines(text: str, simplify: bool = False) -> list[tuple[bytes, int]]:
    """``text`` as char units: ``[(b" x y z ", 3), ...]``, one entry per line with units;
    ``simplify``: Traditional text is read in Simplified script (module docstring)."""
    text, codes = _prepare(text, simplify)
    if not text:
        return []
    out = []
    for line, piece in zip(text.split("\n"), _spaced(text, codes).split(b"\n")):
        n = _units_in(line)
        if n:
            out.append((piece, n))
    return out


def char_document(text: str, simplify: bool = False) -> tuple[list[bytes], int]:
    """``(lines with units, total units)`` of ``text``: what ``char_lines`` gives, summed, with
    no per-line work but the split (the perplexity filter's document mode)."""
    text, codes = _prepare(text, simplify)
    if not text:
        return [], 0
    units = len(text) - text.count("\n")
    for c in _KENLM_SPACES:
        if c in text:
            units -= text.count(c)
    pieces = [p for p in _spaced(text, codes).split(b"\n") if p and not p.isspace()]
    return pieces, units


@dataclass(frozen=True)
class Units:
    """Turns text into kenlm input for one unit kind. ``tokenizer`` is a ``tokenizers`` JSON
    file, required for ``wordpiece``. Picklable: the tokenizer is loaded on first use."""

    unit: str = "char"
    tokenizer: str | None = None
    script: str = "simplified"

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unknown LM unit {self.unit!r}; expected one of {UNITS}")
        if self.script not in SCRIPTS:
            raise ValueError(f"unknown LM script {self.script!r}; expected one of {SCRIPTS}")
        if self.unit == "wordpiece" and not self.tokenizer:
            raise ValueError("unit 'wordpiece' needs a tokenizer JSON file (tokenizers format); "
                             "train one with 'm6 tokenizer train' or let 'm6 lm train' train it")

    def lines(self, text: str) -> list[tuple[bytes, int]]:
        """Non-empty lines of ``text`` as ``(space-separated units as UTF-8, unit count)``."""
        if self.unit == "char":
            return char_lines(text, self.script == "simplified")
        if self.script == "simplified":
            text = simplified_for_scoring(text)
        return self._wordpiece_lines(text)

    def document(self, text: str) -> tuple[list[bytes], int]:
        """``(lines with units, total units)`` of ``text``; equal to summing ``lines``."""
        if self.unit == "char":
            return char_document(text, self.script == "simplified")
        if self.script == "simplified":
            text = simplified_for_scoring(text)
        lines = self._wordpiece_lines(text)
        return [line for line, _ in lines], sum(n for _, n in lines)

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


def train_wordpiece(texts, out_path: str, vocab_size: int = 8000, *,
                    show_progress: bool = False) -> None:
    """Train a BERT-style WordPiece tokenizer (lowercase, Chinese characters split) on
    ``texts`` and save it as a ``tokenizers`` JSON file; ``show_progress`` draws the trainer's
    bars on stderr (they hide off a terminal)."""
    from tokenizers.implementations import BertWordPieceTokenizer

    tok = BertWordPieceTokenizer(clean_text=True, handle_chinese_chars=True,
                                 strip_accents=False, lowercase=True)
    tok.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=2,
                            show_progress=show_progress, special_tokens=["[UNK]"])
    tok.save(out_path)
