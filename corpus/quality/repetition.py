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
rolling hash of its tokens' ids (numpy, wrapping uint64 arithmetic), and one stable argsort per
size finds both the most frequent n-gram and the repeated ones. The filter finds the tokens with
numpy too (``token_arrays``: a table of each code point's class, built from ``_TOKEN_RE`` itself),
not as a list of strings, and skips the sort of a duplicate size that the repeated positions of a
smaller size already rule out: on the generated crawl the rule cost a third of all the
per-document stages (``bench/bench_stages.py``).
"""

from __future__ import annotations

import re
import threading
from typing import ClassVar

import numpy as np

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
    """``(ids, lens)`` of a token list: ids numbered in the order of first occurrence."""
    lens = np.fromiter(map(len, toks), dtype=np.int64, count=len(toks))
    index: dict[str, int] = {}
    ids = np.fromiter((index.setdefault(t, len(index)) for t in toks), dtype=np.uint64,
                      count=len(toks))
    return ids, lens


def token_arrays(text: str) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, lens)`` of ``tokens(text)``: equal tokens get equal ids, numbered in the order
    of their first occurrence (as ``ngram_fractions`` numbers them), and each token's length in
    characters. The same values as from the list of strings, without making one string per
    Chinese character."""
    low = text.lower()
    cp = np.frombuffer(low.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if cp.size and int(cp.max()) > 0xFFFF:
        return _ids_of(_TOKEN_RE.findall(low))
    cls = _classes()[cp]
    word = cls == _WORD_CHAR
    word_start = word.copy()
    word_start[1:] &= ~word[:-1]
    starts = np.flatnonzero((cls == _CJK_TOKEN) | word_start)
    if not starts.size:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    keys = cp[starts].astype(np.int64)  # a CJK token is its code point
    lens = np.ones(len(starts), dtype=np.int64)
    w_starts = np.flatnonzero(word_start)
    if w_starts.size:  # a run is keyed by its text, after every code point
        word_end = word.copy()
        word_end[:-1] &= ~word[1:]
        w_ends = np.flatnonzero(word_end) + 1
        index: dict[str, int] = {}
        w_keys = [index.setdefault(low[a:b], len(index))
                  for a, b in zip(w_starts.tolist(), w_ends.tolist())]
        at = np.searchsorted(starts, w_starts)
        keys[at] = 0x10000 + np.array(w_keys, dtype=np.int64)
        lens[at] = w_ends - w_starts
    return _first_occurrence_ranks(keys), lens


_NOT_SEEN = np.iinfo(np.int64).max
_scratch = threading.local()  # Beam may run bundles in threads: one table each


def _first_occurrence_ranks(keys: np.ndarray) -> np.ndarray:
    """Each key's rank among the distinct keys in the order of their first occurrence
    (``[7, 3, 7, 5] -> [0, 1, 0, 2]``), with no sort: a table indexed by key holds the first
    position of each, and is reset after use (``np.unique`` sorts twice, 3x slower here)."""
    table = getattr(_scratch, "table", None)
    top = int(keys.max()) + 1
    if table is None or table.size < top:
        table = _scratch.table = np.full(max(top, 0x11000), _NOT_SEEN, dtype=np.int64)
    try:
        np.minimum.at(table, keys, np.arange(len(keys)))
        first = table[keys]
    finally:
        table[keys] = _NOT_SEEN
    is_first = np.zeros(len(keys), dtype=bool)
    is_first[first] = True
    return (np.cumsum(is_first) - 1).astype(np.uint64)[first]


def duplicate_lines(text: str) -> tuple[int, float, float]:
    """``(lines, share of lines repeating an earlier one, share of characters in them)``."""
    lines = [ln.strip() for ln in text.split("\n")]
    lines = [ln for ln in lines if ln]
    if not lines:
        return 0, 0.0, 0.0
    seen: set[str] = set()
    dup = dup_chars = total = 0
    for ln in lines:
        total += len(ln)
        if ln in seen:
            dup += 1
            dup_chars += len(ln)
        else:
            seen.add(ln)
    return len(lines), dup / len(lines), dup_chars / total


def _covered_chars(positions: np.ndarray, n: int, lens: np.ndarray) -> float:
    """Characters of the tokens covered by n-grams starting at ``positions`` (unique)."""
    size = len(lens) + 1
    cover = np.bincount(positions, minlength=size) - np.bincount(positions + n, minlength=size)
    return float(lens[np.cumsum(cover[:-1]) > 0].sum())


def ngram_fractions(toks: list[str], top_sizes: tuple[int, ...],
                    dup_sizes: tuple[int, ...]) -> tuple[dict[int, float], dict[int, float]]:
    """``({n: top n-gram fraction}, {n: duplicate n-gram fraction})`` of a token list.

    Fractions are of token characters and at most 1: overlapping occurrences (``哈哈哈哈``)
    cover each character once. One stable argsort per n-gram size serves both rules: in sorted
    order an n-gram equal to its predecessor occurred earlier in the text; the longest run of
    equal ids is the most frequent n-gram. Once no n-gram of some duplicate size repeats, no
    longer one can, and the larger sizes are 0 without being computed.
    """
    # Token ids: equal tokens get equal ids (dict of first occurrences), spread by the hash.
    return _fractions(*_ids_of(toks), top_sizes, dup_sizes)


def _fractions(ids: np.ndarray, lens: np.ndarray, top_sizes: tuple[int, ...],
               dup_sizes: tuple[int, ...]) -> tuple[dict[int, float], dict[int, float]]:
    """``ngram_fractions`` of tokens given as ids (numbered by first occurrence) and lengths.

    A duplicate size ``n`` is sorted only if some position ``i`` could start a repeated
    n-gram: an n-gram equal to an earlier one has its first and its last m-gram equal to
    earlier ones too, for the largest size ``m < n`` already sorted, so with no ``i`` where
    both are repeated the size has no repeats (most documents: no repeated 7-gram, while
    repeated 4-grams are common)."""
    if not len(ids):
        return {}, {}
    total = float(lens.sum())
    with np.errstate(over="ignore"):  # the rolling hash wraps around on purpose
        return _fractions_wrapping(ids, lens, total, top_sizes, dup_sizes)


def _fractions_wrapping(ids, lens, total, top_sizes, dup_sizes):
    """The body of ``_fractions``, run where uint64 overflow is not reported."""
    top: dict[int, float] = {}
    dup: dict[int, float] = {}
    top_set, dup_set = set(top_sizes), set(dup_sizes)
    last_top = max(top_set, default=0)
    no_dups_from = None  # smallest duplicate size found without repeats
    again, rep_n = None, 0  # positions starting an n-gram seen before, of the last sorted n
    ids = (ids + np.uint64(1)) * _MULT
    grams = ids
    for n in range(1, max(top_set | dup_set) + 1):
        if no_dups_from is not None and n > last_top:
            break
        if n > 1:
            grams = grams[:-1] * _MULT + ids[n - 1:]
        want_top = n in top_set
        want_dup = n in dup_set and no_dups_from is None
        if not (want_top or want_dup):
            continue
        if len(grams) < 2:
            top.update({k: 0.0 for k in top_set if k >= n})
            dup.update({k: 0.0 for k in dup_set if k >= n})
            break
        if want_dup and not want_top and again is not None:
            k = len(grams)
            repeated = np.zeros(k + n - rep_n, dtype=bool)
            repeated[again] = True
            if not (repeated[:k] & repeated[n - rep_n:]).any():
                no_dups_from = n
                continue
        order = np.argsort(grams, kind="stable")
        ordered = grams[order]
        same = ordered[1:] == ordered[:-1]
        again = order[1:][same]
        rep_n = n
        if want_top:
            starts = np.flatnonzero(np.concatenate(([True], ~same)))
            runs = np.diff(np.append(starts, len(grams)))
            k = int(np.argmax(runs))
            top[n] = (_covered_chars(order[starts[k]:starts[k] + runs[k]], n, lens) / total
                      if runs[k] > 1 else 0.0)
        if want_dup:
            if again.size:
                dup[n] = _covered_chars(again, n, lens) / total
            else:
                no_dups_from = n
    for n in dup_set:
        dup.setdefault(n, 0.0)
    for n in top_set:
        top.setdefault(n, 0.0)
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
        top, dup = _fractions(ids, lens, cfg.top_ngram_sizes, cfg.dup_ngram_sizes)
        worst, worst_rel = 0.0, -1.0
        for n, limit in zip(cfg.top_ngram_sizes, cfg.max_top_ngram_fracs):
            frac = top.get(n, 0.0)
            if frac > limit:
                return Verdict.drop(f"repetition:top_{n}gram", frac,
                                    f"the most frequent {n}-gram covers {frac:.3f} of the "
                                    f"characters (> {limit})")
            rel = frac / limit if limit else 0.0
            if rel > worst_rel:
                worst, worst_rel = frac, rel
        for n, limit in zip(cfg.dup_ngram_sizes, cfg.max_dup_ngram_fracs):
            frac = dup.get(n, 0.0)
            if frac > limit:
                return Verdict.drop(f"repetition:dup_{n}gram", frac,
                                    f"{frac:.3f} of the characters are in repeated {n}-grams "
                                    f"(> {limit})")
        return Verdict.ok(worst, dup_line_frac=dup_frac, top_ngram_frac=worst)
