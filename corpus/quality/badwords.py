"""The bad-words filter: drop text with words from lists of dirty, naughty and bad words.

Paper section 2.3: "remove sentences that contain ... words in the list of dirty, naughty, and
other bad words". The default lists are LDNOOBW's Chinese and English lists (the English one is
the list C4 used), shipped in ``corpus/quality/data`` with their provenance and licence.

Matching fits each script. One Aho-Corasick automaton (pyahocorasick) holds every word of every
list, so a document is scanned once, whatever the number of words (a regex alternation of the
same words is the naive alternative; ``bench/bench_quality.py`` compares them). Text and words
are lowercased. A word end that is a CJK character matches anywhere (Chinese has no spaces
between words); a word end that is a letter or digit of an alphabet must sit on a word boundary,
so English ``ass`` does not match in ``class`` but does in ``你是ass``. Overlapping matches
(``他妈`` inside ``他妈的``) count once, the longest first.

Policy (``BadWordsConfig``): ``count`` drops a document with more than ``max_count`` matches,
``ratio`` one whose share of non-space characters inside matches exceeds ``max_ratio``. The
reason names the list with the most matches, ``badwords:zh``; the score and
``quality.badword_ratio`` are the character share; the detail lists the matched words.

Chinese entries shorter than ``min_cjk_word_chars`` are skipped (see ``config.py``): the list's
single characters are morphemes of everyday words.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar, NamedTuple

from corpus.document import Document
from corpus.quality.config import BadWordsConfig
from corpus.quality.resources import read_word_list, word_list_path
from corpus.stage import Filter, Verdict


class Match(NamedTuple):
    start: int
    end: int  # exclusive
    word: str
    lists: tuple[str, ...]


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x2E80 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x3134F


def _is_word_char(ch: str) -> bool:
    """A letter or digit of an alphabet (Latin, Greek, Cyrillic...), not a CJK character."""
    return (ch.isalnum() or ch == "_") and not _is_cjk(ch)


def _cjk_length(word: str) -> int:
    return sum(1 for c in word if _is_cjk(c))


class BadWordsFilter(Filter):
    """Filter: reason ``badwords:<list>``; stores ``quality.badword_ratio``."""

    name: ClassVar[str] = "quality.badwords"

    def __init__(self, cfg: BadWordsConfig | None = None):
        self.cfg = cfg or BadWordsConfig()
        self._automaton: Any = None
        self._order: dict[str, int] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"cfg": self.cfg, "_automaton": None, "_order": {}}

    def words(self) -> dict[str, tuple[str, ...]]:
        """Every word that will be matched -> the lists it comes from."""
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
        a = ahocorasick.Automaton()
        for w, lists in words.items():
            left = _is_word_char(w[0])
            right = _is_word_char(w[-1])
            a.add_word(w, (w, lists, left, right))
        a.make_automaton()
        self._order = {word_list_path(s)[0]: i for i, s in enumerate(self.cfg.lists)}
        self._automaton = a

    def matches(self, text: str) -> list[Match]:
        """Non-overlapping matches in ``text`` (lowercased), longest first at each place."""
        low = text.lower()
        n = len(low)
        found = []
        for end, (w, lists, left, right) in self._automaton.iter(low):
            start = end - len(w) + 1
            if left and start > 0 and _is_word_char(low[start - 1]):
                continue
            if right and end + 1 < n and _is_word_char(low[end + 1]):
                continue
            found.append(Match(start, end + 1, w, lists))
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

    def keep(self, record: Document) -> Verdict:
        text = record.text
        found = self.matches(text)
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
        words = ", ".join(dict.fromkeys(f"{m.word} ({'/'.join(m.lists)})" for m in found))
        return Verdict.drop(f"badwords:{top}", ratio, f"{rule}: {words}")
