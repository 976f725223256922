"""Repetition rules after Gopher (Rae et al. 2021, appendix A, table A1), adapted to Chinese.

Machine-made pages repeat themselves: the same line thirty times, a keyword stuffed into every
sentence. Gopher measures this on words; Chinese has no spaces, so here a *token* is a CJK
character or a run of other letters and digits (an English word), the unit ``corpus/tokens.py``
counts, and an n-gram of Chinese is n characters. Punctuation and whitespace are not tokens.

Rules (``RepetitionConfig``), each with its reason:

* ``repetition:dup_lines``: share of non-empty lines that repeat an earlier line;
* ``repetition:dup_line_chars``: share of characters in such lines;
* ``repetition:top_{n}gram``: characters covered by all occurrences of the most frequent
  n-gram (only if it occurs more than once), over all token characters (n = 2, 3, 4);
* ``repetition:dup_{n}gram``: characters of tokens inside n-grams that already occurred earlier
  in the document, over all token characters (n = 7..12 characters; why not Gopher's 5..10 is
  measured in ``RepetitionConfig``).

The line rules need ``min_lines`` lines and the n-gram rules ``min_tokens`` tokens. A kept
document gets ``quality.dup_line_frac`` and ``quality.top_ngram_frac`` (the largest top n-gram
fraction relative to its threshold, i.e. the one closest to dropping the document).

The n-gram counts are vectorised: tokens become 64-bit ids, an n-gram's id is a polynomial
rolling hash of its tokens' ids (numpy, wrapping uint64 arithmetic). One plain sort, a row of
hashes per size, serves the top sizes and the smallest duplicate size together: the longest run
of equal hashes in a row is its most frequent n-gram, and a duplicate size without any run
needs nothing more, nor does any larger one (most documents: no repeated 7-gram). Only a
document with repeats gets a stable argsort, which tells each repeated n-gram's first
occurrence from the later ones; and since a larger size repeats no more characters than a smaller one,
``keep`` leaves out every size that a smaller one's fraction already puts under its threshold.
The filter finds the tokens with numpy too (``token_arrays``: a table of each code point's
class, built from ``_TOKEN_RE`` itself), not as a list of strings. On the generated crawl the
rule cost a third of all the per-document stages (``bench/bench_stages.py``) with one stable
argsort per size; this way takes about 0.6 of that time, with the same verdicts.
"""

from __future__ import annotations

import functools
import re
import threading
from typing import ClassVar

import numpy as np

from corpus.codepoints import code_points
from corpus.document import Document
from corpus.quality.config import RepetitionConfig
from corpus.stage import Filter, Verdict
from corpus.tokens import CJK_CLASS

_TOKEN_RE = re.compile(f"[{CJK_CLASS}]|[^\\W{CJK_CLASS}]+")
_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit multiplier of the rolling hash


def tokens(text: str) -> list[str]:
    """CJK characters and runs of other letters/digits of ``text``, lowercased."""
    return _TOKEN_RE.findall(text.lower())


_CJK_TOKEN, _WORD_CHAR = 1, 2
_class_table: np.ndarray | None = None


def _classes() -> np.ndarray:
    """Each BMP code point's class for ``_TOKEN_RE``: ``_CJK_TOKEN`` (a token alone),
    ``_WORD_CHAR`` (part of a run) or 0. Built once, by running the two halves of ``_TOKEN_RE``
    over every BMP code point, so it cannot disagree with the regex (the whole of Unicode would
    take half a second a worker; a text beyond the BMP takes the regex path)."""
    global _class_table
    if _class_table is None:
        table = np.zeros(0x10000, dtype=np.uint8)
        every = "".join(map(chr, range(0x10000)))
        for cls, pattern in ((_CJK_TOKEN, f"[{CJK_CLASS}]+"), (_WORD_CHAR, f"[^\\W{CJK_CLASS}]+")):
            for m in re.finditer(pattern, every):
                table[m.start():m.end()] = cls
        _class_table = table
    return _class_table


def _ids_of(toks: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, lens)`` of a token list: ids numbered from 1 in the order of first occurrence."""
    lens = np.fromiter(map(len, toks), dtype=np.int64, count=len(toks))
    index: dict[str, int] = {}
    ids = np.fromiter((index.setdefault(t, len(index) + 1) for t in toks), dtype=np.uint64,
                      count=len(toks))
    return ids, lens


_NOT_SEEN = np.iinfo(np.int64).max
_scratch = threading.local()  # Beam may run bundles in threads: one table each


def token_arrays(text: str) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, lens)`` of ``tokens(text)``: equal tokens get equal ids, numbered from 1 in the
    order of their first occurrence (as ``ngram_fractions`` numbers them), and each token's
    length in characters. The same values as from the list of strings, without making one
    string per Chinese character."""
    low = text.lower()
    cp = code_points(low)
    try:
        cls = _classes()[cp]
    except IndexError:  # a code point beyond the BMP
        return _ids_of(_TOKEN_RE.findall(low))
    word = np.zeros(len(cp) + 2, dtype=bool)  # a run of word characters, padded on both sides
    np.equal(cls, _WORD_CHAR, out=word[1:-1])
    edges = (word[1:] != word[:-1]).nonzero()[0]  # start, end, start, end, ...
    w_starts, w_ends = edges[::2], edges[1::2]
    is_start = cls == _CJK_TOKEN
    is_start[w_starts] = True
    starts = is_start.nonzero()[0]
    keys = cp[starts]  # a CJK token is its code point, a run is keyed by its text after them
    lens = np.ones(len(starts), dtype=np.int64)
    index: dict[str, int] = {}
    if w_starts.size:
        at = np.searchsorted(starts, w_starts)
        keys[at] = [index.setdefault(low[a:b], 0x10000 + len(index))
                    for a, b in zip(w_starts.tolist(), w_ends.tolist())]
        lens[at] = w_ends - w_starts
    return _first_occurrence_ranks(keys, 0x10000 + len(index)), lens


def _first_occurrence_ranks(keys: np.ndarray, top: int) -> np.ndarray:
    """Each key's rank from 1 among the distinct keys in the order of their first occurrence
    (``[7, 3, 7, 5] -> [1, 2, 1, 3]``), keys below ``top``, with no sort: a table indexed by key
    holds the first position of each, and is reset after use (``np.unique`` sorts twice, 3x
    slower here)."""
    table = getattr(_scratch, "table", None)
    if table is None or table.size < top:
        table = _scratch.table = np.full(max(top, 0x11000), _NOT_SEEN, dtype=np.int64)
    at = np.arange(len(keys))
    try:
        np.minimum.at(table, keys, at)
        first = table[keys]
    finally:
        table[keys] = _NOT_SEEN
    return np.cumsum(first == at, dtype=np.uint64)[first]


def duplicate_lines(text: str) -> tuple[int, float, float]:
    """``(lines, share of lines repeating an earlier one, share of characters in them)``."""
    lines = list(filter(None, map(str.strip, text.split("\n"))))
    if not lines:
        return 0, 0.0, 0.0
    distinct = set(lines)
    total = sum(map(len, lines))
    return (len(lines), (len(lines) - len(distinct)) / len(lines),
            (total - sum(map(len, distinct))) / total)


@functools.cache
def _power(k: int) -> np.uint64:
    """``_MULT ** k`` in wrapping uint64 arithmetic."""
    return np.uint64(pow(int(_MULT), k, 1 << 64))


class _Ngrams:
    """The n-gram counts of one document, made as the rules ask for them.

    ``hash(n)`` is each position's n-gram hash: the rolling hash of the n tokens' ids, put
    together from two smaller ones (``h[a + b][i] = h[a][i] * M ** b + h[b][i + a]``, the same
    value as rolling token by token). ``repeats[n]`` says whether some n-gram occurs twice, for
    the sizes counted so far."""

    def __init__(self, ids: np.ndarray, lens: np.ndarray):
        self.size = len(ids)
        self.prefix = np.zeros(self.size + 1, dtype=np.int64)  # characters before each token
        np.cumsum(lens, out=self.prefix[1:])
        self.total = float(self.prefix[-1])
        self.hashes = {1: ids * _MULT}
        self.repeats: dict[int, bool] = {}

    def hash(self, n: int, out: np.ndarray | None = None) -> np.ndarray:
        """The n-gram hashes, written into ``out`` if given."""
        hashes = self.hashes
        h = hashes.get(n)
        if h is None:
            a = n - 1 if n - 1 in hashes else max(k for k in hashes if k < n)
            tail = hashes.get(n - a)
            if tail is None:
                tail = self.hash(n - a)
            h = hashes[n] = np.multiply(hashes[a][:self.size - n + 1], _power(n - a), out=out)
            h += tail[a:]
        elif out is not None:
            out[:] = h
        return h

    def top(self, sizes, probe: int | None = None) -> dict[int, float]:
        """``{n: top n-gram fraction}``. All sizes go through one sort, a row of hashes each,
        with ``probe`` (the smallest duplicate size) to learn whether its n-grams repeat."""
        out = dict.fromkeys(sizes, 0.0)
        live = sorted(n for n in out if self.size - n >= 1)  # two n-grams at least
        tops = len(live)  # the rows whose top n-gram is wanted come first
        if probe is not None and probe not in out and self.size - probe >= 1:
            live.append(probe)
        if not live:
            return out
        rows, low = len(live), min(live)
        width = self.size - low + 1
        grams = np.zeros((rows, width), dtype=np.uint64)  # a shorter row ends in zeros
        for r, n in enumerate(live):
            self.hash(n, grams[r, :self.size - n + 1])
        ordered = np.sort(grams, axis=1).ravel()
        begins = np.empty(rows * width, dtype=bool)  # a run of equal hashes begins here
        np.not_equal(ordered[1:], ordered[:-1], out=begins[1:])
        for r, n in enumerate(live):  # the zeros sort first, before any n-gram of hash 0
            begins[r * width:r * width + n - low + 1] = True
        at = begins.nonzero()[0]
        runs = np.zeros(rows * width, dtype=np.intp)  # each run's length, where it begins
        runs[at[:-1]] = at[1:] - at[:-1]
        runs[at[-1]] = rows * width - at[-1]
        first = runs.reshape(rows, width).argmax(axis=1)  # first most frequent, sorted order
        first += np.arange(0, rows * width, width)
        more = (runs[first] - 1).tolist()  # occurrences of the most frequent n-gram, minus one
        self.repeats.update(zip(live, map(bool, more)))
        if not any(more[:tops]):
            return out
        values = ordered[first[:tops]]
        found = grams[:tops] == values[:, None]
        if 0 in values.tolist():
            for r, n in enumerate(live[:tops]):
                found[r, self.size - n + 1:] = False
        row, starts = np.divmod(found.ravel().nonzero()[0], width)
        chars = np.bincount(row, self.covered(starts, np.array(live)[row], row), tops)
        for n, m, c in zip(live, more, chars.tolist()):
            if m:
                out[n] = c / self.total
        return out

    def covered(self, starts: np.ndarray, n, row: np.ndarray | None = None) -> np.ndarray:
        """Characters covered by each n-gram at ``starts`` (ascending, within each ``row`` if
        given) and not by the next one: up to its end or the next start, whichever is first."""
        ends = starts + n
        np.minimum(ends[:-1], starts[1:], out=ends[:-1],
                   where=True if row is None else row[1:] == row[:-1])
        return self.prefix[ends] - self.prefix[starts]

    def dup(self, n: int) -> float:
        """The duplicate n-gram fraction: 0 if a size up to n has no repeats, else from a
        stable argsort, where an n-gram equal to its predecessor occurred earlier."""
        if self.size - n < 1 or not all(r for m, r in self.repeats.items() if m <= n):
            return 0.0
        grams = self.hash(n)
        order = np.argsort(grams, kind="stable")
        ordered = grams[order]
        again = np.sort(order[1:][ordered[1:] == ordered[:-1]])
        self.repeats[n] = bool(again.size)
        return float(self.covered(again, n).sum()) / self.total if again.size else 0.0


def ngram_fractions(toks: list[str], top_sizes: tuple[int, ...],
                    dup_sizes: tuple[int, ...]) -> tuple[dict[int, float], dict[int, float]]:
    """``({n: top n-gram fraction}, {n: duplicate n-gram fraction})`` of a token list.

    Fractions are of token characters and at most 1: overlapping occurrences (``哈哈哈哈``)
    cover each character once. In the sorted hashes of a size's n-grams the longest run of equal
    ones is the most frequent n-gram (the first in sorted order among equally frequent ones); in
    their stable argsort an n-gram equal to its predecessor occurred earlier in the text. Once
    no n-gram of some duplicate size repeats, no longer one can, and the larger sizes are 0
    without being computed.
    """
    ids, lens = _ids_of(toks)
    if not len(ids):
        return {}, {}
    grams = _Ngrams(ids, lens)
    top = grams.top(top_sizes, min(dup_sizes, default=None))
    dup: dict[int, float] = {}
    for n in sorted(set(dup_sizes)):
        dup[n] = 0.0 if 0.0 in dup.values() else grams.dup(n)
    return top, dup


class RepetitionFilter(Filter):
    """Filter: reasons ``repetition:*``; stores ``dup_line_frac`` and ``top_ngram_frac``."""

    name: ClassVar[str] = "quality.repetition"

    def __init__(self, cfg: RepetitionConfig | None = None):
        self.cfg = cfg or RepetitionConfig()
        self.cfg.check_pairs()

    def setup(self) -> None:
        _classes()  # the code point table, once per worker (a few milliseconds)

    def keep(self, record: Document) -> Verdict:
        cfg = self.cfg
        text = record.text
        n_lines, dup_frac, dup_chars = duplicate_lines(text)
        if n_lines >= cfg.min_lines:
            if dup_frac > cfg.max_dup_line_frac:
                return Verdict.drop("repetition:dup_lines", dup_frac,
                                    f"{dup_frac:.3f} of {n_lines} lines repeat an earlier line "
                                    f"(> {cfg.max_dup_line_frac})")
            if dup_chars > cfg.max_dup_line_char_frac:
                return Verdict.drop("repetition:dup_line_chars", dup_chars,
                                    f"{dup_chars:.3f} of the characters are in repeated lines "
                                    f"(> {cfg.max_dup_line_char_frac})")
        ids, lens = token_arrays(text)
        if len(ids) < cfg.min_tokens:
            return Verdict.ok(None, dup_line_frac=dup_frac)
        grams = _Ngrams(ids, lens)
        top = grams.top(cfg.top_ngram_sizes, min(cfg.dup_ngram_sizes, default=None))
        worst, worst_rel = 0.0, -1.0
        for n, limit in zip(cfg.top_ngram_sizes, cfg.max_top_ngram_fracs):
            frac = top[n]
            if frac > limit:
                return Verdict.drop(f"repetition:top_{n}gram", frac,
                                    f"the most frequent {n}-gram covers {frac:.3f} of the "
                                    f"characters (> {limit})")
            rel = frac / limit if limit else 0.0
            if rel > worst_rel:
                worst, worst_rel = frac, rel
        known: list[tuple[int, float]] = []  # duplicate fractions computed so far
        for n, limit in zip(cfg.dup_ngram_sizes, cfg.max_dup_ngram_fracs):
            for m, frac in known:  # a larger size repeats no more characters than a smaller
                if m <= n and frac <= limit:
                    break
            else:
                frac = grams.dup(n)
                if frac > limit:
                    return Verdict.drop(f"repetition:dup_{n}gram", frac,
                                        f"{frac:.3f} of the characters are in repeated {n}-grams "
                                        f"(> {limit})")
                known.append((n, frac))
        return Verdict.ok(worst, dup_line_frac=dup_frac, top_ngram_frac=worst)
