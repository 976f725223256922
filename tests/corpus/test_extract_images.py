"""corpus.extract.images: srcset parsing and the largest candidate, lazy-loading attributes, URL
resolution against <base>, figure captions, and surrounding text bounded by DOM distance."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser

from corpus.extract.images import Candidate, dimension, find_images, largest, parse_srcset

PAGE = "https://www.example.cn/news/2024/story.html"


def refs(body: str, head: str = "", **kw):
    return find_images(LexborHTMLParser(f"<html><head>{head}</head><body>{body}</body></html>"),
                       PAGE, **kw)


@pytest.mark.parametrize("srcset, urls, best", [
    ("a.jpg 480w, b.jpg 960w", ["a.jpg", "b.jpg"], "b.jpg"),
    ("a.jpg 1x,b.jpg 2x", ["a.jpg", "b.jpg"], "b.jpg"),
    ("a.jpg, b.jpg 1.5x", ["a.jpg", "b.jpg"], "b.jpg"),
    ("https://cdn.example.cn/w_300,h_200/s.jpg 300w, https://cdn.example.cn/w_600,h_400/s.jpg 600w",
     ["https://cdn.example.cn/w_300,h_200/s.jpg", "https://cdn.example.cn/w_600,h_400/s.jpg"],
     "https://cdn.example.cn/w_600,h_400/s.jpg"),
    (" ,, x.jpg 2x , y.jpg", ["x.jpg", "y.jpg"], "x.jpg"),
    ("x.jpg big, y.jpg 3x", ["x.jpg", "y.jpg"], "y.jpg"),
])
def test_srcset(srcset, urls, best):
    cands = parse_srcset(srcset)
    assert [c.url for c in cands] == urls
    assert largest(cands).url == best


def test_width_descriptors_beat_densities_and_first_wins_ties():
    assert largest([Candidate("a", density=3.0), Candidate("b", width=10)]).url == "b"
    assert largest([Candidate("a"), Candidate("b")]).url == "a"
    assert largest([]) is None


@pytest.mark.parametrize("value, px", [("300", 300), ("300px", 300), (" 120.5 ", 120),
                                       ("100%", None), ("auto", None), (None, None), ("", None)])
def test_dimension(value, px):
    assert dimension(value) == px


def test_urls_are_resolved_against_the_page_and_base():
    (a,) = refs('<img src="../img/a.jpg">')
    assert a.url == "https://www.example.cn/news/img/a.jpg"
    (b,) = refs('<img src="//cdn.example.cn/b.png">')
    assert b.url == "https://cdn.example.cn/b.png"
    (c,) = refs('<img src="c.jpg">', head='<base href="https://static.example.cn/s/">')
    assert c.url == "https://static.example.cn/s/c.jpg"
    assert refs('<img src="javascript:void(0)"><img>') == []


def test_lazy_attributes_replace_placeholders_but_not_real_sources():
    lazy, real, discuz = refs(
        '<img src="/images/blank.gif" data-original="/photos/1.jpg" alt="湖边">'
        '<img src="/photos/2.jpg" data-src="/photos/2-large.jpg">'
        '<img file="/data/attachment/forum/3.jpg" zoomfile="/data/attachment/forum/3z.jpg">')
    assert lazy.url == "https://www.example.cn/photos/1.jpg" and lazy.alt == "湖边"
    assert real.url == "https://www.example.cn/photos/2.jpg"
    assert discuz.url == "https://www.example.cn/data/attachment/forum/3.jpg"
    (data_uri,) = refs('<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">')
    assert data_uri.url.startswith("data:image/gif")  # the image path rejects it as bad_url


def test_picture_takes_the_largest_source_and_scales_the_declared_size():
    (ref,) = refs('<figure><picture>'
                  '<source type="image/webp" srcset="/m/p-400.webp 400w, /m/p-1200.webp 1200w">'
                  '<img src="/m/p-400.jpg" width="400" height="300" alt="西湖">'
                  '</picture><figcaption>苏堤春晓</figcaption></figure>')
    assert ref.url == "https://www.example.cn/m/p-1200.webp"
    assert (ref.width, ref.height, ref.alt, ref.caption) == (1200, 900, "西湖", "苏堤春晓")


def test_context_is_the_nearest_text_within_the_dom_distance():
    body = ("<div><p>远处的一段文字。</p><section><div><div>"
            "<span><img src='/x.jpg'></span>"
            "</div></div></section><p>后面的一段文字。</p></div>")
    (near,) = refs(body, max_levels=4)
    assert (near.context_before, near.context_after) == ("远处的一段文字。", "后面的一段文字。")
    (far,) = refs(body, max_levels=2)  # the paragraphs are 4 levels up: out of reach
    assert (far.context_before, far.context_after) == (None, None)


def test_context_skips_the_caption_scripts_and_is_cut_near_the_image():
    (ref,) = refs("<p>" + "很长的前文。" * 100 + "最后一句。</p>"
                  "<figure><img src='/a.jpg'><figcaption>图注</figcaption></figure>"
                  "<script>var x = 1;</script><p>正文继续写下去，" + "后文" * 200 + "</p>",
                  max_chars=20)
    assert ref.caption == "图注"
    assert ref.context_before == ("很长的前文。" * 100 + "最后一句。")[-20:]
    assert ref.context_after == ("正文继续写下去，" + "后文" * 20)[:20]


def test_spaces_from_inline_elements_are_dropped_between_chinese_characters():
    (ref,) = refs("<p>请点击<a href='#'>编辑</a>。</p><img src='/a.jpg'>")
    assert ref.context_before == "请点击编辑。"


def test_images_are_capped_per_page():
    assert len(refs("".join(f"<img src='/{i}.jpg'>" for i in range(50)), max_images=7)) == 7
