"""A packed document is plain data and unpacks to an equal Document; unknown field types fail."""

from __future__ import annotations

import pytest

from corpus.dedup.packed import member_order, pack, unpack
from corpus.dedup.survivor import member_order as doc_member_order
from corpus.document import Document, ImageRef
from schemas.records import Quality

PLAIN = (str, int, float, bool, type(None), bytes, tuple)


def full_document() -> Document:
    return Document(
        id="0f" * 16, source="common_crawl", text="北京欢迎你。\n第二段", url="http://a.cn/x?b=1",
        title="标题", input_file="crawl/x.warc.gz", offset=12345, crawl_date="2026-01-02",
        images=[ImageRef(url="http://a.cn/1.jpg", alt="图", title=None, caption="说明",
                         context_before="前", context_after="后", width=640, height=480),
                ImageRef(url="http://a.cn/2.png")],
        quality=Quality(perplexity=123.456789, perplexity_bucket="head", spam_score=0.1,
                        badword_ratio=0.0, cjk_ratio=0.93, latin_ratio=0.01, lang="zh",
                        lang_score=0.999, dup_line_frac=0.25, top_ngram_frac=1 / 3))


def flat(value):
    if isinstance(value, tuple):
        for v in value:
            yield from flat(v)
    else:
        yield value


def test_round_trip_equals_and_is_plain_data():
    doc = full_document()
    packed = pack(doc)
    assert all(isinstance(v, PLAIN) for v in flat(packed))
    back = unpack(packed)
    assert back == doc and back.images == doc.images and back.quality == doc.quality
    assert back.to_text_record() == doc.to_text_record()
    minimal = Document(id="x", source="forum", text="")
    assert unpack(pack(minimal)) == minimal


def test_member_order_without_unpacking():
    doc = full_document()
    assert member_order("1000k", pack(doc)) == doc_member_order(("1000k", doc))
    bare = Document(id="x", source="forum", text="t")
    assert member_order("1000k", pack(bare)) == doc_member_order(("1000k", bare))


def test_a_field_of_an_unknown_type_is_refused_by_name():
    doc = full_document()
    doc.title = ["not", "plain"]
    with pytest.raises(TypeError, match="Document.title of type list"):
        pack(doc)
