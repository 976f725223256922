"""Candidate pairs from a page's image references (corpus/images/pairs.py)."""

from __future__ import annotations

import pickle

import pytest

from corpus.document import Document, ImageRef
from corpus.images.config import PairConfig
from corpus.images.pairs import MinePairs, chrome_reason, compose_text, is_descriptive
from corpus.images.records import ImagePair
from corpus.stage import split

CFG = PairConfig()
PAGE = "https://news.example.cn/2024/01/gugong.html"


def ref(url: str, **kw) -> ImageRef:
    return ImageRef(url=url, **kw)


@pytest.mark.parametrize("image,reason", [
    (ref("data:image/gif;base64,R0lGODlhAQABAAAAACw="), "bad_url"),
    (ref("javascript:void(0)"), "bad_url"),
    (ref("/relative/only.jpg"), "bad_url"),
    (ref("https://homes.example.edu/~axz/null"), "bad_url"),
    (ref("https://x.cn/img/undefined"), "bad_url"),
    (ref("https://news.example.cn/static/img/logo.svg"), "unsupported_format"),
    (ref("https://news.example.cn/favicon.ico"), "unsupported_format"),
    (ref("https://hm.baidu.com/hm.gif?si=abc"), "tracking_pixel"),
    (ref("https://www.google-analytics.com/collect?v=1"), "tracking_pixel"),
    (ref("https://news.example.cn/a.gif", width=1, height=1), "tracking_pixel"),
    (ref("https://news.example.cn/a.gif", width=0, height=0), "tracking_pixel"),
    (ref("https://news.example.cn/img/beacon.gif"), "tracking_pixel"),
    (ref("https://news.example.cn/images/spacer.gif"), "spacer"),
    (ref("https://news.example.cn/images/1x1.png"), "spacer"),
    (ref("https://news.example.cn/photos/a.png", width=32, height=32), "icon"),
    (ref("https://news.example.cn/photos/a.png", width=24), "icon"),
    (ref("https://news.example.cn/static/site-logo.png"), "icon"),
    (ref("https://news.example.cn/u/avatar/123.jpg"), "icon"),
    (ref("https://news.example.cn/img/share_btn.png"), "icon"),
    (ref("https://news.example.cn/photos/a.jpg", width=60, height=60), "declared_too_small"),
])
def test_chrome_is_recognised(image, reason):
    assert chrome_reason(image, CFG)[0] == reason


@pytest.mark.parametrize("url", [
    "https://news.example.cn/photos/2024/gugong-snow.jpg",
    "https://news.example.cn/photos/star-wars-poster.jpg",  # "star" is not an icon word
    "https://img.example.cn/x/640/480/abc123.webp?q=80",
])
def test_content_urls_pass(url):
    assert chrome_reason(ref(url, width=640, height=480), CFG) is None
    assert chrome_reason(ref(url), CFG) is None


def test_descriptive_text():
    assert not is_descriptive("图片", CFG)
    assert not is_descriptive("Image", CFG)
    assert not is_descriptive("IMG_0042.JPG", CFG)
    assert not is_descriptive("DSC01234", CFG)
    assert is_descriptive("故宫角楼的雪景", CFG)


def test_text_prefers_caption_alt_title_each_once():
    r = ref("https://x.cn/a.jpg", alt="角楼", caption="故宫角楼的雪景", title="故宫角楼的雪景",
            context_before="前文。", context_after="后文。")
    assert compose_text(r, CFG) == "故宫角楼的雪景"  # alt is inside the caption, title repeats it
    r = ref("https://x.cn/a.jpg", alt="A snowy corner tower", caption="故宫角楼的雪景")
    assert compose_text(r, CFG) == "故宫角楼的雪景 A snowy corner tower"


def test_short_description_takes_the_surrounding_text():
    r = ref("https://x.cn/a.jpg", alt="图片",
            context_before="第一段很长的文字。" * 40 + "昨夜北京降雪，故宫银装素裹。",
            context_after="游客纷纷拍照留念。然后还有很多别的文字" * 20)
    text = compose_text(r, CFG)
    assert text.startswith("第一段") or text.startswith("昨夜") or "故宫" in text
    assert text.endswith("。")
    assert "图片" not in text
    assert len(text) <= 2 * CFG.context_chars + 1


def test_mine_pairs_from_a_page():
    doc = Document(
        id="d1", source="common_crawl", text="正文", url=PAGE, input_file="crawl.warc.gz",
        offset=123, images=[
            ref("https://news.example.cn/photos/gugong.jpg", alt="故宫角楼的雪景",
                width=800, height=600),
            ref("https://news.example.cn/favicon.ico"),
            ref("https://news.example.cn/photos/gugong.jpg", alt="again"),
            ref("https://news.example.cn/photos/empty.jpg"),
            ref("https://news.example.cn/photos/context.jpg",
                context_after="游客在雪中的太和殿前拍照。"),
        ])
    kept, rejected = split(MinePairs(CFG).run([doc]))
    assert [p.image_url for p in kept] == ["https://news.example.cn/photos/gugong.jpg",
                                          "https://news.example.cn/photos/context.jpg"]
    first = kept[0]
    assert isinstance(first, ImagePair)
    assert (first.source, first.url, first.text) == ("webpage", PAGE, "故宫角楼的雪景")
    assert (first.declared_width, first.input_file, first.offset) == (800, "crawl.warc.gz", 123)
    assert kept[1].text == "游客在雪中的太和殿前拍照。"
    assert [(r.reason, r.kind, r.stage) for r in rejected] == [
        ("unsupported_format", "image_text", "image_pairs"),
        ("duplicate_in_page", "image_text", "image_pairs"),
        ("no_text", "image_text", "image_pairs"),
    ]
    assert all(r.url == PAGE and r.image_url for r in rejected)
    ids = [p.id for p in kept] + [r.id for r in rejected]
    assert len(set(ids)) == len(ids)  # the duplicate gets an id of its own


def test_pair_ids_are_stable_and_sources_mapped():
    doc = Document(id="d", source="encyclopedia", text="t", url=PAGE,
                   images=[ref("https://x.cn/a.jpg", alt="长城的秋天")])
    a = list(MinePairs().run([doc]))[0]
    b = list(MinePairs().run([doc]))[0]
    assert a.id == b.id and a.source == "encyclopedia"


def test_page_without_images_yields_nothing():
    assert list(MinePairs().run([Document(id="d", source="forum", text="t")])) == []


def test_too_many_images_on_a_page():
    doc = Document(id="d", source="common_crawl", text="t", url=PAGE,
                   images=[ref(f"https://x.cn/p/{i}.jpg", alt=f"第{i}张照片的说明")
                           for i in range(5)])
    kept, rejected = split(MinePairs(PairConfig(max_pairs_per_page=3)).run([doc]))
    assert len(kept) == 3 and [r.reason for r in rejected] == ["too_many_images"] * 2


def test_stage_pickles():
    stage = pickle.loads(pickle.dumps(MinePairs(CFG)))
    assert stage.cfg == CFG
