"""Units the kenlm model sees: exact char units, and agreement with a plain-Python reference."""

from __future__ import annotations

import pytest

from corpus.quality.lm_text import Units, char_lines


def reference_char_lines(text: str) -> list[tuple[bytes, int]]:
    """The definition, written the slow obvious way: per line, drop whitespace, lowercase ASCII,
    digits 1-9 -> 0, one unit per character."""
    out = []
    for line in text.split("\n"):
        chars = [c for c in line if not c.isspace()]
        chars = [c.lower() if c.isascii() else c for c in chars]
        chars = ["0" if c in "123456789" else c for c in chars]
        if chars:
            out.append((" ".join(chars).encode("utf-8"), len(chars)))
    return out


def test_char_units_exact():
    lines = char_lines("黄河 Hello2008年\n\n第二行，\u3000o\u2003k\r\n")
    assert lines == [(" 黄 河 h e l l o 0 0 0 0 年".encode(), 12),
                     (" 第 二 行 ， o k".encode(), 6)]
    assert char_lines("") == [] and char_lines(" \n\t\n") == []


def test_char_units_match_the_reference_on_real_text(encyclopedia, reviews):
    for text in encyclopedia[:30] + reviews[:100]:
        got = [(line.strip(), n) for line, n in char_lines(text)]
        assert got == reference_char_lines(text), text[:40]
        # kenlm splits on whitespace: its token count must be the count we report.
        assert all(len(line.split()) == n for line, n in got)


def test_astral_and_surrogate_characters_survive():
    lines = char_lines("𠀋字\ud800x")  # an Extension B character, a lone surrogate
    assert lines[0][1] == 4
    assert lines[0][0].split()[0].decode() == "𠀋"


def test_units_validate_their_settings():
    with pytest.raises(ValueError, match="unknown LM unit"):
        Units("word")
    with pytest.raises(ValueError, match="needs a tokenizer"):
        Units("wordpiece")
