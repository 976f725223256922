"""corpus/tokens.py: the token count used until the WordPiece tokenizer exists."""

from __future__ import annotations

import pytest

from corpus.tokens import count_cjk, count_tokens, is_cjk, script_counts


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
