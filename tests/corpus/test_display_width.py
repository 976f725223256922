"""Display width (corpus/display_width.py) and the tables that use it: ``m6 inspect``'s grid
and Table 1 of ``corpus/stats.py``, line up when cells hold Chinese."""

from __future__ import annotations

import pytest

from corpus.display_width import clip, ljust, rjust, width
from corpus.inspect.render import grid
from corpus.stats import compute_stats, format_table


@pytest.mark.parametrize("text, columns", [
    ("forum", 5),
    ("百科", 4),  # CJK ideographs: wide
    ("ＡＢ", 4),  # full-width forms
    ("，。", 4),  # CJK punctuation is wide too
    ("ｶﾀ", 2),  # half-width katakana: narrow
    ("e\u0301", 1),  # a combining acute accent takes no column
    ("a\u200bb", 2),  # zero-width space
    ("±αЖ", 3),  # ambiguous width counts as narrow
    ("😀", 2),
    ("𠀀", 2),  # CJK extension B, outside the BMP
])
def test_width(text, columns):
    assert width(text) == columns


def test_padding_and_clipping_count_columns():
    assert ljust("百科", 6) == "百科  " and rjust("百科", 6) == "  百科"
    assert ljust("百科全书", 2) == "百科全书"  # never cut by padding
    assert clip("百科全书", 5) == "百科" and clip("ab百科", 3) == "ab" and clip("ab", 5) == "ab"


def _column_starts(line: str, cells: list[str]) -> list[int]:
    """Display column where each of ``cells`` starts in ``line``."""
    starts, pos = [], 0
    for cell in cells:
        i = line.index(cell, pos)
        starts.append(width(line[:i]))
        pos = i + len(cell)
    return starts


def test_inspect_grid_lines_up_chinese_cells():
    rows = [["百科全书", "1,000", "黄河是中国第二长河"], ["forum", "20", "x"],
            ["问答社区", "3", "ok"]]
    lines = grid(["Source", "Rows", "Top values"], rows, right={1})
    assert lines[0] == "Source     Rows  Top values"
    assert lines[1] == "--------  -----  ------------------"
    assert lines[2] == "百科全书  1,000  黄河是中国第二长河"
    assert lines[3] == "forum        20  x"
    for line, row in zip(lines[2:], rows):  # third column starts at one column in every row
        assert _column_starts(line, row)[2] == 17


def test_table1_rejected_table_lines_up_a_chinese_reason():
    stats = compute_stats([
        ("rejected", {"source": "forum", "stage": "quality.badwords", "reason": "词:赌博"}),
        ("rejected", {"source": "forum", "stage": "clean", "reason": "text_too_short"}),
        ("rejected", {"source": "encyclopedia", "stage": "clean", "reason": "text_too_short"}),
    ])
    lines = format_table(stats).splitlines()
    table = lines[lines.index(next(x for x in lines if x.startswith("Stage"))):]
    assert table[2].startswith("clean") and table[3].startswith("quality.badwords  词:赌博  ")
    # the last column holds right-aligned figures, so every line of a straight table ends at
    # the rule's last column
    assert {width(line) for line in table} == {width(table[1])}, table
    # and the Reason column starts at one display column on every row
    assert {width(line[:line.index(r)]) for line, r in
            zip(table[2:4], ("text_too_short", "词:赌博"))} == {18}
