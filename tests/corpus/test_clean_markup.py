"""corpus/clean/markup.py: tags, entities, comments, script/style, double escaping, BBCode."""

from __future__ import annotations

from corpus.clean import StripMarkup, strip_markup
from corpus.document import Document


def test_tags_are_removed_and_block_tags_break_lines():
    assert strip_markup("<p>第一段</p><p>第二段<br/>第三行</p>") == "\n第一段\n\n第二段\n第三行\n"
    assert strip_markup('点击<a href="http://x.cn/a?b=1&amp;c=2" target=_blank>这里</a>下载') \
        == "点击这里下载"
    assert strip_markup("<span class='hl'>重点</span>内容<img src=\"a.jpg\" />") == "重点内容"


def test_entities_are_decoded():
    assert strip_markup("A&amp;B&nbsp;公司&#20013;&#x6587;&lt;3") == "A&B\xa0公司中文<3"


def test_comments_scripts_and_styles_go_with_their_content():
    text = "前<!-- 广告 -->中<script>var a = '<p>';</script><style>p{color:red}</style>后"
    assert strip_markup(text) == "前中后"
    assert strip_markup("正文<!-- 没有结束的注释") == "正文"


def test_double_escaped_markup_is_removed():
    assert strip_markup("&lt;p&gt;你好&lt;/p&gt;世界") == "\n你好\n世界"


def test_comparisons_are_not_tags():
    assert strip_markup("如果 a<b 且 c>d，则") == "如果 a<b 且 c>d，则"
    assert strip_markup("3 < 5 > 2") == "3 < 5 > 2"


def test_bbcode_from_forum_dumps():
    text = "[quote=楼主]原帖[/quote][b]加粗[/b][url=http://a.cn]链接[/url][img]http://a.cn/1.jpg[/img]完"
    assert strip_markup(text) == "原帖加粗链接完"
    assert strip_markup("数组a[0]和[注释]保留") == "数组a[0]和[注释]保留"


def test_stage_cleans_text_and_title_without_mutating_input():
    doc = Document(id="1", source="forum", text="<b>正文</b>", title="<i>标题</i>&amp;")
    (out,) = StripMarkup().run([doc])
    assert (out.text, out.title) == ("正文", "标题&")
    assert (doc.text, doc.title) == ("<b>正文</b>", "<i>标题</i>&amp;")


def test_blank_title_becomes_none_and_none_stays_none():
    (a,) = StripMarkup().run([Document(id="1", source="forum", text="x", title="  ")])
    (b,) = StripMarkup().run([Document(id="2", source="forum", text="x", title=None)])
    (c,) = StripMarkup().run([Document(id="3", source="forum", text="x", title="<br>")])
    assert a.title is None and b.title is None
    assert c.title == "\n"  # had content: stays a string, the title rule will judge it


def test_a_text_that_is_not_a_string_is_rejected_not_raised():
    doc = Document(id="post-bad4", source="forum", text=12345, title="数字正文")  # type: ignore[arg-type]
    (r,) = StripMarkup().run([doc])
    assert (r.stage, r.reason, r.text) == ("clean.markup", "not_a_string", "12345")
    assert r.detail == "text is a int, not a string"
    (r,) = StripMarkup().run([Document(id="2", source="forum", text="正文", title=7)])  # type: ignore[arg-type]
    assert (r.reason, r.detail) == ("not_a_string", "title is a int, not a string")


def test_unterminated_script_and_img_blocks_stay_linear():
    # both once made every start scan to the end of the text (quadratic: 1.6 s and 7 s for
    # these; bench/bench_budget.py times the growth)
    assert strip_markup("<script " * 20_000 + "文字") == "<script " * 20_000 + "文字"
    assert strip_markup("[img]" * 20_000 + "文字") == "文字"
    assert strip_markup("前[img]a.jpg[/img]中[IMG]b.jpg[/img]后[img]") == "前中后"
    assert strip_markup("<script src=x>var a = 1;</script>正文<style a=1>p{}") == "正文"
