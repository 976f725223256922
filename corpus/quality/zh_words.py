"""Is a bad-word hit a word of the text? Chinese word boundaries around a hit (issue 16.1).

Chinese has no spaces, so a listed string is often part of another word: 乳交 in the idiom
水乳交融, 处女 in 处女作 "debut work", 他妈 in 其他妈妈 "other mothers". C4's word-list filter
drops such text (Dodge et al. 2021, "Documenting large webtext corpora"). Here the Aho-Corasick
automaton still scans the whole text at full speed; only a window of ``window`` characters on each
side of a hit is segmented, and the hit counts when it starts or ends on a word boundary of that
segmentation: 他妈的 in 你/他妈的/真是 and 傻逼 in 个/傻/逼 count, and so does 色情 in the compound
色情电影 (a listed word at the head or tail of a longer word keeps its sense: 色情电影, 成人网站);
乳交 in 水乳交融 and 他妈 in 其他/妈妈, which cut across words at both ends, do not. Requiring both
ends lost 7 of the 163 frozen spam pages the substring matcher caught (色情电影, 看成/人/网站);
compounds such as 处女作 and 成人教育 that one end lets through are on the allow-list.

The segmenter is jieba's dictionary and algorithm (maximum-probability path over the prefix
dictionary, HMM off so unknown runs are not merged into new words around a hit). Two maintained
implementations are installable from PyPI: ``rjieba`` (the Rust jieba-rs, default) and ``jieba``
(pure Python). They give the same words on the measured text; rjieba segments 2.8 M characters
a second against jieba's 0.2 M and loads its dictionary in 0.3 s against 1.5 s
(bench/bench_filters_zh.py), hence the default. The spec names the version the thresholds were
measured with (``rjieba==0.2.2``, also pinned in pyproject.toml); another installed version is
used with a warning, and the spec is written to ``config.json`` with the rest of the config.

Windows are converted to Simplified script first (OpenCC ``t2s``) because jieba's dictionary is
Simplified; when a conversion changes the length the window is segmented as written.
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from corpus.quality.zh_script import to_simplified

log = logging.getLogger(__name__)

SEGMENTERS = ("rjieba", "jieba")


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``("rjieba", "0.2.2")`` from ``"rjieba==0.2.2"``; the version is optional."""
    name, _, ver = spec.partition("==")
    name = name.strip()
    if name not in SEGMENTERS:
        raise ValueError(f"badwords.segmenter must be one of {SEGMENTERS} (optionally with "
                         f"==VERSION), got {spec!r}")
    return name, ver.strip() or None


class WordBoundaries:
    """Segments the text around hits; picklable (the segmenter loads lazily)."""

    def __init__(self, spec: str, window: int):
        self.spec = spec
        self.window = window
        self._cut: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"spec": self.spec, "window": self.window, "_cut": None}

    def setup(self) -> None:
        if self._cut is not None:
            return
        name, want = parse_spec(self.spec)
        try:
            have = version(name)
        except PackageNotFoundError:
            raise ImportError(f"quality.badwords.segmenter={self.spec}: {name} is not installed; "
                              f"pip install '{name}{'==' + want if want else ''}'") from None
        if want and have != want:
            log.warning("quality.badwords.segmenter: %s %s is installed, the thresholds were "
                        "measured with %s", name, have, want)
        if name == "rjieba":
            import rjieba

            self._cut = lambda text: rjieba.cut(text, False)
        else:
            import jieba

            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            self._cut = lambda text: tokenizer.cut(text, HMM=False)

    def is_word(self, text: str, start: int, end: int) -> bool:
        """Whether ``text[start:end]`` starts or ends on a word boundary of its neighbourhood."""
        if self._cut is None:
            self.setup()
        lo = max(0, start - self.window)
        piece = text[lo:end + self.window]
        simple = to_simplified(piece)
        if len(simple) == len(piece):
            piece = simple
        cuts = {0}
        pos = 0
        for token in self._cut(piece):
            pos += len(token)
            cuts.add(pos)
        return (start - lo) in cuts or (end - lo) in cuts
