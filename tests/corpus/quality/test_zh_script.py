"""Traditional Chinese read in Simplified script for matching and scoring only (issue 16.1, 16.3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpus.document import Document
from corpus.quality.config import PerplexityConfig
from corpus.quality.lm_text import Units
from corpus.quality.perplexity import PerplexityFilter
from corpus.quality.zh_script import (
    has_traditional,
    simplified_for_scoring,
    to_simplified,
    traditional_variants,
)

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "quality" / "zh_real_sample.jsonl"


def test_conversion_helpers():
    assert to_simplified("繁體中文與國際") == "繁体中文与国际"
    assert traditional_variants("他妈的") == {"他媽的"}
    assert traditional_variants("中文") == set()
    assert not has_traditional("简体中文，ASCII text") and has_traditional("繁體")
    assert has_traditional("x" * 300 + "體")  # the numpy path for long text
    # Taiwan wording becomes mainland wording for the model (檔案 -> 文件)
    assert simplified_for_scoring("列出指定檔案的資訊") == "列出指定文件的信息"
    text = "简体中文不变"
    assert simplified_for_scoring(text) is text


def test_units_read_traditional_as_simplified_and_keep_simplified_as_is():
    assert Units().lines("列出指定檔案的資訊") == Units().lines("列出指定文件的信息")
    assert Units(script="as_written").lines("資訊") != Units().lines("資訊")
    with pytest.raises(ValueError, match="unknown LM script"):
        Units(script="pinyin")


def test_a_traditional_manpage_scores_like_its_simplified_original(lm_model):
    """The same manpages-zh page in zh_CN and zh_TW: the perplexities now match closely."""
    rows = {json.loads(x)["id"]: json.loads(x)
            for x in SAMPLE.read_text(encoding="utf-8").splitlines()}
    f = PerplexityFilter(PerplexityConfig(model=str(lm_model), max_percentile=None))
    f.setup()
    tw = next(r for r in rows.values() if r["source"] == "manpages_zh_TW"
              and "預設" in r["text"])
    as_written = PerplexityFilter(PerplexityConfig(model=str(lm_model), max_percentile=None))
    as_written.setup()
    as_written._units = Units(script="as_written")
    fair, raw = f.score(tw["text"]), as_written.score(tw["text"])
    simplified = f.score(to_simplified(tw["text"]))
    assert fair < raw * 0.8  # Traditional characters unseen by the model: 1,892 against 1,444
    assert fair <= simplified * 1.01
    (kept,) = f.process(Document(id="t", source="webpage", text=tw["text"]))
    assert kept.text == tw["text"]  # the text is kept as written
