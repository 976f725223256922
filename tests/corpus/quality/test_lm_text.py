"""Units the kenlm model sees: exact char units, and agreement with a plain-Python reference."""

from __future__ import annotations

import pytest

from corpus.quality.lm_text import Units, char_document, char_lines

KENLM_SPACES = " \t\x0b\x0c\r"  # kenlm's util/spaces.cc, without the newline


def reference_char_lines(text: str) -> list[list[str]]:
    """The definition, written the slow obvious way: per line, every character but kenlm's
    spaces (U+3000 and U+00A0 count as spaces, NUL is dropped), ASCII lowercased, 1-9 -> 0."""
    out = []
    for line in text.split("\n"):
        line = line.replace("\u3000", " ").replace("\xa0", " ").replace("\x00", "")
        chars = [c for c in line if c not in KENLM_SPACES]
        chars = [c.lower() if c.isascii() else c for c in chars]
        chars = ["0" if c in "123456789" else c for c in chars]
        if chars:
            out.append(chars)
    return out


def as_tokens(lines: list[tuple[bytes, int]]) -> list[list[str]]:
    """How kenlm reads our lines: split on its spaces (bytes.split splits on the same set)."""
    return [[t.decode("utf-8") for t in line.split()] for line, _ in lines]


def test_char_units_exact():
    lines = char_lines("黄河 Hello2008年\n\n第二行，\u3000o\tk\r\n")
    assert as_tokens(lines) == [list("黄河hello0000年"), list("第二行，ok")]
    assert [n for _, n in lines] == [12, 6]
    assert lines[0][0].startswith(" 黄 河 ".encode())
    assert char_lines("") == [] and char_lines(" \n\t\n\u3000") == []
    assert char_document(" \n\t\n") == ([], 0)


def test_char_units_match_the_reference_on_real_text(encyclopedia, reviews):
    texts = encyclopedia[:30] + reviews[:100] + ["Ａ１ｂ\u2003c\x00d\n\n  e  \r\n"]
    for text in texts:
        lines = char_lines(text)
        assert as_tokens(lines) == reference_char_lines(text), text[:40]
        assert all(len(line.split()) == n for line, n in lines)
        # The document path is the line path, summed.
        pieces, total = char_document(text)
        assert pieces == [line for line, _ in lines]
        assert total == sum(n for _, n in lines)


def test_long_and_short_texts_are_spaced_alike(encyclopedia):
    long = "\n".join(encyclopedia[:3])  # numpy path
    assert len(long) > 1000
    short_lines = [char_lines(p) for p in long.split("\n")]  # mostly str.join path
    assert ([x.strip() for lines in short_lines for x, _ in lines]
            == [x.strip() for x, _ in char_lines(long)])


def test_astral_and_surrogate_characters_survive():
    (line, n), = char_lines("𠀋字\ud800x")  # an Extension B character, a lone surrogate
    assert n == 4 and line.split()[0].decode() == "𠀋"


def test_units_validate_their_settings():
    with pytest.raises(ValueError, match="unknown LM unit"):
        Units("word")
    with pytest.raises(ValueError, match="needs a tokenizer"):
        Units("wordpiece")
