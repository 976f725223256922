"""``m6 lm train`` on a Chinese Wikipedia dump (issue 16.3): the dump's real export format, markup
stripped, streamed; the model says what it was trained on; a sample model on other input warns."""

from __future__ import annotations

import bz2
import io
import json
from pathlib import Path

from corpus.quality import lm_cli
from corpus.quality.lm_reference import load_metadata, model_fit_warning
from corpus.quality.text_files import TextFiles
from corpus.quality.wikidump import iter_articles, strip_wikitext

DUMP = (Path(__file__).resolve().parents[2] / "fixtures" / "quality"
        / "zhwiki-sample-pages-articles.xml.bz2")


def test_dump_articles_are_read_without_markup():
    rows = list(TextFiles.of([DUMP]).records())
    # 5 pages: 3 articles; a redirect and a talk page are not articles
    assert [r["title"] for r in rows] == ["长城", "大熊猫", "豆腐"]
    wall = rows[0]["text"]
    assert wall.splitlines()[0] == ("长城，又称万里长城，是中国古代的军事防御工程，由城墙、敌楼、"
                                    "关城和烽火台组成。")
    assert "长城东起河北山海关，西至甘肃嘉峪关，全长两万多公里。" in wall  # [[河北省|河北]]
    for markup in ("{{", "}}", "[[", "]]", "'''", "<ref", "Category", "wikitable", "==",
                   "数据待核实", "File:", "thumb"):
        assert markup not in wall, markup
    panda = rows[1]["text"]
    assert "体色为黑白两色" in panda  # -{zh-hans:体色;zh-hant:體色}- keeps the Simplified one
    assert "更多资料见世界自然保护联盟红色名录。" in panda  # [url label] keeps the label


def test_strip_wikitext_nested_templates_and_lists():
    text = "{{a|{{b|c}}|d}}正文[[链接]]。\n* 列表项\n<!-- 注释 -->\n== 标题 ==\n尾句。"
    assert strip_wikitext(text) == "正文链接。\n列表项\n尾句。"


def test_dump_is_streamed_and_pages_are_cleared():
    xml = bz2.decompress(DUMP.read_bytes())
    articles = iter_articles(io.BytesIO(xml))
    first = next(articles)  # a generator: nothing past the first page has been needed
    assert first["title"] == "长城"


def test_lm_train_on_the_dump_records_what_it_was_trained_on(tmp_path):
    out = tmp_path / "zhwiki.char3.bin"
    assert lm_cli.main(["train", "--input", str(DUMP), "--order", "3", "--holdout", "0",
                        "--out", str(out)]) == 0
    meta = load_metadata(out)
    assert meta["corpus"]["inputs"] == [str(DUMP)] and meta["corpus"]["documents"] == 3
    assert meta["script"] == "simplified"
    # a model trained on three articles is no reference either: other input warns
    warning = model_fit_warning(str(out), ["/data/crawl/CC-MAIN-0001.warc.gz"])
    assert warning is not None and "trained on 3 documents" in warning
    assert "m6 lm train --input zhwiki-latest-pages-articles.xml.bz2" in warning


def test_the_sample_model_warns_on_other_input_only(tmp_path):
    model = tmp_path / "sample.bin"
    model.write_bytes(b"")
    meta = {"corpus": {"inputs": ["data/sample/dumps/encyclopedia.jsonl"], "documents": 81}}
    (tmp_path / "sample.bin.json").write_text(json.dumps(meta), encoding="utf-8")
    assert model_fit_warning(str(model), ["data/sample/crawl/news.warc.gz"]) is None
    w = model_fit_warning(str(model), ["data/sample/crawl/a.warc.gz", "/srv/crawl/b.warc.gz"])
    assert w is not None and "the sample" in w and "81 documents" in w
    assert model_fit_warning(None, ["/srv/crawl/b.warc.gz"]) is None


def test_m6_corpus_prints_the_warning(tmp_path, capfd):
    """m6 corpus on input outside the sample, with a model trained on the sample."""
    from pipelines.cli import main as corpus_main

    root = Path(__file__).resolve().parents[3]
    model = tmp_path / "sample.char3.bin"
    assert lm_cli.main(["train", "--input", "data/sample/dumps/encyclopedia.jsonl", "--order",
                        "3", "--out", str(model)]) == 0
    dump = tmp_path / "dumps" / "forum.jsonl"
    dump.parent.mkdir()
    src = (root / "data" / "sample" / "dumps" / "forum.jsonl").read_text(encoding="utf-8")
    dump.write_text("\n".join(src.splitlines()[:3]) + "\n", encoding="utf-8")
    assert corpus_main(["--input", str(tmp_path / "dumps"), "--output", str(tmp_path / "out"),
                        "--no-report", "--no-images", "--no-dedup",
                        "--set", f"quality.perplexity.model={model}"]) == 0
    err = capfd.readouterr().err
    (msg,) = [ln for ln in err.splitlines() if "was trained on" in ln]
    assert "WARNING" in msg and "(data/sample/dumps/encyclopedia.jsonl), the sample" in msg
