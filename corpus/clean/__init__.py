"""Text cleaning by the paper's section 2.3, as small stages in a fixed order.

``clean_stages(cfg)`` returns, in order:

1. ``StripMarkup`` (``clean.markup``): HTML tags, entities, comments, script/style, BBCode;
2. ``CjkShareFilter`` (``clean.language``): drop ``not_chinese``; before the character stage,
   which would make a Japanese page look Chinese by deleting its kana;
3. ``KeepChineseEnglish`` (``clean.chars``): only Chinese and English characters, digits and
   punctuation; NFC and explicit width folding, no NFKC;
4. ``CollapsePunctuation`` (``clean.punctuation``): ``！！！`` -> ``！``; after 3, so marks made
   adjacent by a dropped emoji collapse too;
5. ``MinLengthFilter`` (``clean.length``): drop ``text_too_short`` (< 15) and
   ``title_too_short`` (< 5) on the cleaned strings.

Each stage takes and yields ``corpus.document.Document`` (or a ``RejectedRecord``), returns new
documents rather than mutating, and is picklable. ``clean_text`` applies the three rewriting
steps to a bare string (no filtering); image-text pair texts go through the stages themselves
(``corpus.images.text.PairText``), so they are also filtered.
"""

from __future__ import annotations

from corpus.clean.chars import KeepChineseEnglish, keep_zh_en, keep_zh_en_line
from corpus.clean.config import CleanConfig
from corpus.clean.language import CjkShareFilter, cjk_share
from corpus.clean.length import MinLengthFilter, visible_length
from corpus.clean.markup import StripMarkup, strip_markup
from corpus.clean.punctuation import CollapsePunctuation, collapse_punctuation
from corpus.clean.transform import TextTransform
from corpus.stage import Stage

__all__ = [
    "CjkShareFilter",
    "CleanConfig",
    "CollapsePunctuation",
    "KeepChineseEnglish",
    "MinLengthFilter",
    "StripMarkup",
    "TextTransform",
    "cjk_share",
    "clean_stages",
    "clean_text",
    "collapse_punctuation",
    "keep_zh_en",
    "keep_zh_en_line",
    "strip_markup",
    "visible_length",
]


def clean_stages(cfg: CleanConfig | None = None) -> list[Stage]:
    """The cleaning stages in the order they must run (see the module docstring)."""
    cfg = cfg or CleanConfig()
    return [
        StripMarkup(),
        CjkShareFilter.from_config(cfg),
        KeepChineseEnglish(),
        CollapsePunctuation(),
        MinLengthFilter.from_config(cfg),
    ]


def clean_text(text: str) -> str:
    """Markup, character and punctuation cleaning of one string (no filtering)."""
    return collapse_punctuation(keep_zh_en(strip_markup(text)))
