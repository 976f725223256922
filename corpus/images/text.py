"""Clean the text of each pair by the text corpus's rules, with caption-sized length limits.

Paper 2.3's cleaning applies to all text: markup and duplicate punctuation removed, only Chinese
and English characters and punctuation kept, the language rule. ``PairText`` runs exactly the
stages the text corpus runs (``corpus.clean.clean_stages``) on the pair text, so a caption and a
passage are cleaned alike, but with the limits of ``PairTextConfig`` instead of the passage ones:

* minimum ``min_chars`` = 5 visible characters (the paper's limit for titles; its 15-character
  limit for contents would drop most good captions: "故宫角楼的雪景" has 7) -> ``text_too_short``;
* no title rule (a pair has no title of its own; the ``<img title>`` is part of the text);
* the CJK-share rule at ``min_cjk_ratio``, 0.5 like the text corpus (``clean.min_cjk_ratio``)
  -> ``not_chinese``: the corpus is Chinese in both modalities. The pair text is the Chinese
  candidate among caption, alt, title and surrounding text when there is one
  (``corpus.images.pairs.compose_text``), so an untranslated English alt beside Chinese prose
  does not cost the pair; a pair with no Chinese text at all is rejected;
* at most ``max_chars`` = 256 characters: longer text is cut at the last sentence end before the
  limit, or at the limit (a caption is a sentence or two; surrounding text can run on).

Cleaning runs before any image is fetched or decoded, so pairs with no usable text cost nothing.
Rejected pairs keep the cleaning stage's name and reason, with kind ``image_text``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from corpus.document import Document
from corpus.images.config import PairTextConfig
from corpus.images.records import ImagePair
from corpus.stage import Stage
from schemas import RejectedRecord

_SENTENCE_END = "。！？!?；;…."


def cut_text(text: str, max_chars: int) -> str:
    """``text`` at most ``max_chars`` long, cut after the last sentence end that fits."""
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    for i in range(len(head) - 1, max_chars // 2 - 1, -1):
        if head[i] in _SENTENCE_END:
            return head[: i + 1].strip()
    return head.strip()


class PairText(Stage):
    """``ImagePair`` -> the same pair with cleaned text, or a rejected row."""

    name: ClassVar[str] = "image_text.clean"

    def __init__(self, cfg: PairTextConfig | None = None):
        self.cfg = cfg or PairTextConfig()
        self._stages: list[Stage] | None = None

    def setup(self) -> None:
        if self._stages is not None:
            return
        stages: list[Stage] = []
        if self.cfg.use_corpus_cleaning:
            from corpus.clean import clean_stages
            from corpus.clean.config import CleanConfig

            stages = list(clean_stages(CleanConfig(
                min_text_chars=self.cfg.min_chars, min_title_chars=0,
                min_cjk_ratio=self.cfg.min_cjk_ratio)))
            for stage in stages:
                stage.setup()
        self._stages = stages

    def clean(self, pair: ImagePair) -> ImagePair | RejectedRecord:
        if self._stages is None:
            self.setup()
        doc = Document(id=pair.id, source=pair.source, text=pair.text, url=pair.url,
                       input_file=pair.input_file, offset=pair.offset)
        for stage in self._stages or ():
            out = list(stage.process(doc))
            if not out:
                return pair.reject(stage.name, "dropped", detail="cleaning yielded nothing")
            first = out[0]
            if isinstance(first, RejectedRecord):
                return pair.reject(first.stage, first.reason, score=first.score,
                                   detail=first.detail)
            doc = first
        text = cut_text(doc.text.strip(), self.cfg.max_chars)
        if len(text.replace(" ", "")) < self.cfg.min_chars:
            return pair.reject(self.name, "text_too_short", score=float(len(text)),
                               detail=f"{len(text)} < {self.cfg.min_chars} characters")
        return pair.replace(text=text, quality=doc.quality)

    def process(self, record: Any) -> Iterator[Any]:
        yield self.clean(record)
