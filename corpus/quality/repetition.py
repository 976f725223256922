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
size finds both the most frequent n-gram and the repeated ones.
"""

from __future__ import annotations

import re
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
    cover = np.zeros(len(lens) + 1, dtype=np.int32)
    cover[positions] += 1
    np.subtract.at(cover, positions + n, 1)
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
    top: dict[int, float] = {}
    dup: dict[int, float] = {}
    if not toks:
        return top, dup
    lens = np.fromiter(map(len, toks), dtype=np.int64, count=len(toks))
    total = float(lens.sum())
    # Token ids: equal tokens get equal ids (dict of first occurrences), spread by the hash.
    index: dict[str, int] = {}
    ids = np.fromiter((index.setdefault(t, len(index)) for t in toks), dtype=np.uint64,
                      count=len(toks))
    with np.errstate(over="ignore"):
        ids = (ids + np.uint64(1)) * _MULT
    top_set, dup_set = set(top_sizes), set(dup_sizes)
    no_dups_from = None  # smallest duplicate size found without repeats
    grams = ids
    for n in range(1, max(top_set | dup_set) + 1):
        if n > 1:
            with np.errstate(over="ignore"):
                grams = grams[:-1] * _MULT + ids[n - 1:]
        want_top = n in top_set
        want_dup = n in dup_set and no_dups_from is None
        if not (want_top or want_dup):
            continue
        if len(grams) < 2:
            top.update({k: 0.0 for k in top_set if k >= n})
            dup.update({k: 0.0 for k in dup_set if k >= n})
            break
        order = np.argsort(grams, kind="stable")
        same = grams[order[1:]] == grams[order[:-1]]
        if want_top:
            starts = np.flatnonzero(np.concatenate(([True], ~same)))
            runs = np.diff(np.append(starts, len(grams)))
            k = int(np.argmax(runs))
            top[n] = (_covered_chars(order[starts[k]:starts[k] + runs[k]], n, lens) / total
                      if runs[k] > 1 else 0.0)
        if want_dup:
            again = order[1:][same]
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
        toks = tokens(text)
        if len(toks) < cfg.min_tokens:
            return Verdict.ok(None, dup_line_frac=dup_frac)
        top, dup = ngram_fractions(toks, cfg.top_ngram_sizes, cfg.dup_ngram_sizes)
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
