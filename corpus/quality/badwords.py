"""The bad-words filter: drop text with words from lists of dirty, naughty and bad words.

Paper section 2.3: "remove sentences that contain ... words in the list of dirty, naughty and
other bad words". The default lists are LDNOOBW's Chinese and English lists (the English one is
the list C4 used), shipped in ``corpus/quality/data`` with their provenance and licence.

C4 drops a page on any listed string, and Dodge et al. (2021) showed how much ordinary text that
removes; in Chinese, without spaces, it is worse (issue 16): 乳交 inside 水乳交融, 他妈 inside
其他妈妈, 成人 "adults" and 祖宗 "ancestors" in their ordinary sense. So a hit counts only when:

1. **it is a word of the text.** One Aho-Corasick automaton (pyahocorasick) holds every word of
   every list and scans the lowercased text once. An end that is a letter or digit of an alphabet
   must sit on a word boundary (English ``ass`` not in ``class``, but in ``你是ass``); a hit with
   Chinese characters must start or end on a word boundary of a segmentation of the few
   characters around it, not cut across words at both ends (``corpus/quality/zh_words.py``,
   rjieba by default);
2. **it is not inside an allowed compound** (``allow``: 水乳交融, 处女作, 成人教育 ...), matched by
   the same automaton;
3. **its tier allows it.** Words of the ``weak`` lists (成人, 激情, 祖宗, medical and news
   words; the English placeholders xx, xxx) are ordinary in most contexts and count only with
   other evidence: a listed word that is not weak, at least ``weak_min_words`` distinct listed
   words, or a spam score above ``weak_spam_score`` left by an earlier spam stage. Other words
   count alone.

Most pages hold no listed word, and the automaton costs about 70 ns a character
(pyahocorasick), so ``_Prefilter`` looks first, with numpy over the code points, for what every
listed spelling must show: its first three characters (all of a shorter one). Only a text where
it finds them is scanned: about one page in five of ``bench/make_crawl.py``'s crawl.

Traditional text is matched too: the automaton also holds each Chinese word's Traditional
spellings (OpenCC, ``corpus/quality/zh_script.py``), so the text is scanned as written and the
detail names the listed (Simplified) word. Overlapping hits count once, the longest first.

Policy (``BadWordsConfig``): ``count`` drops a document with more than ``max_count`` counted
matches, ``ratio`` one whose share of non-space characters inside them exceeds ``max_ratio``. The
reason names the list with the most matches, ``badwords:zh``; the score and
``quality.badword_ratio`` are the character share; the detail lists the matched words.
Chinese entries shorter than ``min_cjk_word_chars`` are skipped (see ``config.py``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar, NamedTuple

import numpy as np

from corpus.codepoints import code_points
from corpus.document import Document
from corpus.quality.config import BadWordsConfig
from corpus.quality.resources import read_word_list, word_list_path
from corpus.quality.zh_script import traditional_variants
from corpus.quality.zh_words import WordBoundaries
from corpus.stage import Filter, Verdict


class Match(NamedTuple):
    start: int
    end: int  # exclusive
    word: str  # the listed word (a Traditional spelling is reported as the listed one)
    lists: tuple[str, ...]
    weak: bool = False


_ALLOW = "\x00allow"  # marks allow-list entries in the automaton


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x2E80 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x3134F


def _is_word_char(ch: str) -> bool:
    """A letter or digit of an alphabet (Latin, Greek, Cyrillic...), not a CJK character."""
    return (ch.isalnum() or ch == "_") and not _is_cjk(ch)


def _cjk_length(word: str) -> int:
    return sum(1 for c in word if _is_cjk(c))


def _read_all(specs: tuple[str, ...]) -> set[str]:
    return {w for spec in specs for w in read_word_list(word_list_path(spec)[1])}


class _Prefilter:
    """A necessary condition for any of ``forms`` to be a substring of a text, cheap to test:
    the text holds the first three characters of a form (all of a shorter one).

    Each character among the first three of a form gets a small id (0: none of them). A pair of
    adjacent ids indexes ``_heads``, which numbers the pairs that begin a form; a head and the
    id after it index ``_third``, True where they begin a form (for a two-character form, after
    any character, and a text gets one more character so that one can end it). A one-character
    form is looked for with ``in``."""

    def __init__(self, forms: list[str]):
        self._singles = sorted({f for f in forms if len(f) == 1})
        forms = [f for f in forms if len(f) > 1]
        chars = sorted({c for f in forms for c in f[:3]})
        self._n = n = len(chars) + 1
        self._ids = np.zeros(0x110000, dtype=np.uint16 if n <= 0xFFFF else np.uint32)
        self._ids[[ord(c) for c in chars]] = np.arange(1, n)
        heads = sorted({f[:2] for f in forms})
        self._heads = np.zeros(n * n, dtype=np.intp)
        self._third = np.zeros((len(heads) + 1) * n, dtype=bool)
        for h, head in enumerate(heads, 1):
            self._heads[self._id(head[0]) * n + self._id(head[1])] = h
        for f in forms:
            h = int(self._heads[self._id(f[0]) * n + self._id(f[1])])
            if len(f) == 2:
                self._third[h * n:(h + 1) * n] = True
            else:
                self._third[h * n + self._id(f[2])] = True

    def _id(self, ch: str) -> int:
        return int(self._ids[ord(ch)])

    def may_match(self, text: str) -> bool:
        for c in self._singles:
            if c in text:
                return True
        ids = self._ids.take(code_points(text + " ")).astype(np.intp)  # take is 10x slower with other indices
        n = self._n
        heads = self._heads.take(ids[:-2] * n + ids[1:-1])
        return np.count_nonzero(self._third.take(heads * n + ids[2:])) > 0


class BadWordsFilter(Filter):
    """Filter: reason ``badwords:<list>``; stores ``quality.badword_ratio``."""

    name: ClassVar[str] = "quality.badwords"

    def __init__(self, cfg: BadWordsConfig | None = None):
        self.cfg = cfg or BadWordsConfig()
        self._automaton: Any = None
        self._prefilter: _Prefilter | None = None
        self._order: dict[str, int] = {}
        self._boundaries = WordBoundaries(self.cfg.segmenter, self.cfg.segment_window)

    def __getstate__(self) -> dict[str, Any]:
        return {"cfg": self.cfg, "_automaton": None, "_prefilter": None, "_order": {},
                "_boundaries": WordBoundaries(self.cfg.segmenter, self.cfg.segment_window)}

    def words(self) -> dict[str, tuple[str, ...]]:
        """Every listed word that will be matched -> the lists it comes from."""
        found: dict[str, list[str]] = {}
        for spec in self.cfg.lists:
            name, path = word_list_path(spec)
            for w in read_word_list(path):
                if 0 < _cjk_length(w) == len(w) < self.cfg.min_cjk_word_chars:
                    continue
                lists = found.setdefault(w, [])
                if name not in lists:
                    lists.append(name)
        return {w: tuple(v) for w, v in found.items()}

    def setup(self) -> None:
        if self._automaton is not None:
            return
        import ahocorasick

        words = self.words()
        if not words:
            raise ValueError(f"the bad-word lists {self.cfg.lists} hold no words")
        weak = _read_all(self.cfg.weak)
        a = ahocorasick.Automaton()
        spellings: dict[str, tuple[str, tuple[str, ...], bool]] = {}
        for w, lists in words.items():
            spellings[w] = (w, lists, w in weak)
        if self.cfg.traditional:
            for w, lists in words.items():
                if _cjk_length(w):
                    for t in traditional_variants(w):
                        spellings.setdefault(t.lower(), (w, lists, w in weak))
        for allowed in _read_all(self.cfg.allow):
            for form in {allowed} | (traditional_variants(allowed) if self.cfg.traditional
                                     else set()):
                spellings[form.lower()] = (allowed, (_ALLOW,), False)
        for form, (w, lists, is_weak) in spellings.items():
            a.add_word(form, (len(form), w, lists, is_weak,
                              _is_word_char(form[0]), _is_word_char(form[-1]),
                              _cjk_length(form) > 0))
        a.make_automaton()
        self._prefilter = _Prefilter([form for form, (_, lists, _) in spellings.items()
                                      if lists != (_ALLOW,)])  # allowed forms only remove hits
        self._order = {word_list_path(s)[0]: i for i, s in enumerate(self.cfg.lists)}
        if self.cfg.word_boundaries:
            self._boundaries.setup()
        self._automaton = a

    def hits(self, text: str) -> list[Match]:
        """Listed words of ``text`` that are words of it, outside allowed compounds, longest
        first where they overlap; weak or not."""
        if self._automaton is None:
            self.setup()
        low = text.lower()
        if not self._prefilter.may_match(low):
            return []
        n = len(low)
        found: list[Match] = []
        allowed: list[tuple[int, int]] = []
        for end, (size, w, lists, weak, left, right, cjk) in self._automaton.iter(low):
            start = end - size + 1
            if left and start > 0 and _is_word_char(low[start - 1]):
                continue
            if right and end + 1 < n and _is_word_char(low[end + 1]):
                continue
            if lists == (_ALLOW,):
                allowed.append((start, end + 1))
            elif (not cjk or not self.cfg.word_boundaries
                  or self._boundaries.is_word(low, start, end + 1)):
                found.append(Match(start, end + 1, w, lists, weak))
        if allowed and found:
            found = [m for m in found
                     if not any(s <= m.start and m.end <= e for s, e in allowed)]
        if len(found) < 2:
            return found
        found.sort(key=lambda m: (m.start, m.start - m.end))
        kept: list[Match] = []
        last_end = -1
        for m in found:
            if m.start >= last_end:
                kept.append(m)
                last_end = m.end
        return kept

    def matches(self, text: str, spam_score: float | None = None) -> list[Match]:
        """The hits that count: all of them when there is evidence, else the strong ones."""
        found = self.hits(text)
        if not any(m.weak for m in found):
            return found
        cfg = self.cfg
        evidence = (any(not m.weak for m in found)
                    or len({m.word for m in found}) >= cfg.weak_min_words
                    or (spam_score is not None and spam_score > cfg.weak_spam_score))
        return found if evidence else [m for m in found if not m.weak]

    def keep(self, record: Document) -> Verdict:
        text = record.text
        found = self.matches(text, record.quality.spam_score)
        if not found:
            return Verdict.ok(0.0, badword_ratio=0.0)
        chars = len("".join(text.split())) or 1
        ratio = sum(m.end - m.start for m in found) / chars
        cfg = self.cfg
        over = len(found) > cfg.max_count if cfg.policy == "count" else ratio > cfg.max_ratio
        if not over:
            return Verdict.ok(ratio, badword_ratio=ratio)
        per_list: Counter[str] = Counter(name for m in found for name in m.lists)
        top = min(per_list, key=lambda k: (-per_list[k], self._order.get(k, 99)))
        rule = (f"{len(found)} matches > max_count {cfg.max_count}" if cfg.policy == "count"
                else f"ratio {ratio:.4f} > max_ratio {cfg.max_ratio}")
        words = ", ".join(dict.fromkeys(
            f"{m.word} ({'/'.join(m.lists)}{', weak' if m.weak else ''})" for m in found))
        return Verdict.drop(f"badwords:{top}", ratio, f"{rule}: {words}")
