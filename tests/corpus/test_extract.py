"""corpus.extract.html (ExtractHTML): main text and title of the sample crawl against the text
its pages were built from, boilerplate gone, junk pages rejected with their reasons, and the
bad-input list of issue 2 (truncated gzip, malformed WARC record, non-UTF-8 page without charset,
empty page, 20 MB page, binary served as text/html) run through parse + extract together."""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from corpus.document import Document, Page
from corpus.extract.html import ExtractConfig, ExtractHTML
from corpus.parse.charset import decode_html
from corpus.parse.warc import iter_records
from corpus.stage import split
from schemas import RejectedRecord

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
TRUTH = {t["url"]: t for t in map(json.loads, (SAMPLE / "truth" / "crawl_truth.jsonl").open())}
MANIFEST = [json.loads(line) for line in (SAMPLE / "truth" / "crawl_manifest.jsonl").open()]
KIND = {m["url"]: m.get("kind") for m in MANIFEST if m["type"] == "response"}

# Strings that only occur in the templates' navigation, footers, sidebars and link lists.
BOILERPLATE = ["版权所有", "违法和不良信息举报", "关于我们", "使用协议", "相关词条", "热门分类",
               "你可能还想看", "发表评论", "Powered by", "Privacy policy", "See also",
               "点击领取优惠券", "客户端下载", "分享到：", "当前位置", "责任编辑", "写经验",
               "这篇经验对你有帮助吗", "最新文章", "Random article", "进入词条", "路人甲",
               "青山的博客", "记录生活，分享见闻"]


def _sample_pages() -> list[Page]:
    return [rec for path in sorted((SAMPLE / "crawl").iterdir())
            for rec in iter_records(str(path)) if isinstance(rec, Page)]


@pytest.fixture(scope="module")
def sample_results() -> dict[str, Document | RejectedRecord]:
    stage = ExtractHTML()
    return {page.url: stage.extract(page) for page in _sample_pages()}


def html_page(html: str | bytes, url: str = "https://t.example.cn/a", **kw) -> Page:
    body = html.encode() if isinstance(html, str) else html
    kw.setdefault("content_type", "text/html; charset=utf-8")
    kw.setdefault("status", 200)
    return Page(id="id-" + url, url=url, source="common_crawl", body=body, **kw)


ARTICLE = "".join(f"<p>第{i}段：长江流域气候温暖湿润，降水丰富，支流众多，是重要的粮食产区。</p>"
                  for i in range(6))


# ---------------------------------------------------------------------------------------------
# The sample crawl


def test_every_article_keeps_its_text_and_title(sample_results):
    recalls = []
    for url, truth in TRUTH.items():
        doc = sample_results[url]
        assert isinstance(doc, Document), (url, doc)
        assert doc.title == truth["title"]
        found = sum(block in doc.text for block in truth["blocks"] if block != doc.title)
        wanted = sum(block != doc.title for block in truth["blocks"])
        recalls.append(found / wanted)
        assert found / wanted >= 0.9, url
    assert len(recalls) == len(TRUTH) == 41
    assert sum(recalls) / len(recalls) >= 0.99


def test_no_boilerplate_in_any_document(sample_results):
    leaks = [(url, b) for url, d in sample_results.items() if isinstance(d, Document)
             for b in BOILERPLATE if b in d.text]
    assert leaks == []


def test_paragraphs_are_lines_and_the_title_is_not_repeated(sample_results):
    doc = sample_results["https://baike.example.cn/item/%E9%95%BF%E6%B1%9F"]
    lines = doc.text.split("\n")
    assert lines[0] == TRUTH[doc.url]["blocks"][0]
    assert "流域概况" in lines and doc.title not in lines
    assert all(line == line.strip() and line for line in lines)


@pytest.mark.parametrize("kind, reason", [
    ("navigation_only", "no_main_text"), ("near_empty", "empty_page"),
    ("binary_as_html", "binary_content"), ("empty_body", "empty_page"),
    ("http_404", "http_status"), ("http_301", "http_status"),
    ("image", "not_html"), ("image_tracking_pixel", "not_html"),
])
def test_junk_pages_are_rejected_with_their_reason(sample_results, kind, reason):
    urls = [u for u, k in KIND.items() if k == kind]
    assert urls
    for url in urls:
        out = sample_results[url]
        assert isinstance(out, RejectedRecord), url
        assert (out.reason, out.stage, out.kind, out.url) == (reason, "extract", "page", url)


def test_legacy_encodings_come_out_right(sample_results):
    texts = {k: sample_results[u] for u, k in KIND.items()
             if k in ("gbk_no_charset", "gb2312_header_gbk_chars", "big5_meta_only")}
    assert "社区卫生服务中心在社区广场开展免费义诊活动" in texts["gbk_no_charset"].text
    assert texts["gb2312_header_gbk_chars"].title == "朱镕基题词的石碑在公园落成"
    assert "琳瑯滿目" in texts["big5_meta_only"].text
    decoded = {KIND[p.url]: decode_html(p.body, p.http_charset) for p in _sample_pages()
               if p.url in {d.url for d in texts.values()}}
    assert decoded["gbk_no_charset"].method == "detected"
    assert all(d.errors == 0 for d in decoded.values()) and len(decoded) == 3


def test_duplicates_and_spam_pass_extraction_for_later_stages(sample_results):
    kept = {k for u, k in KIND.items() if isinstance(sample_results[u], Document)}
    assert {"exact_duplicate", "near_duplicate", "keyword_spam", "badwords",
            "repeated_lines", "article_gzip_encoded", "article_chunked", "article_en_bom"} <= kept
    a = sample_results["https://news.example.com.cn/2024/05/n05.html"]
    b = sample_results["https://news.example.com.cn/2024/05/n05.html?from=rss"]
    assert a.text == b.text and a.id != b.id


def test_image_references_on_sample_pages(sample_results):
    changjiang = sample_results["https://baike.example.cn/item/%E9%95%BF%E6%B1%9F"]
    fig = next(i for i in changjiang.images if i.url.endswith("/flower.jpg"))
    assert fig.url == "https://baike.example.cn/uploads/2024/05/flower.jpg"  # relative src resolved
    assert (fig.alt, fig.caption) == ("长江中游江岸的野花", "长江中游的江岸植被，春季开满野花")
    assert (fig.width, fig.height) == (480, 360)
    assert fig.context_before.endswith("减轻下游的防洪压力。")
    assert fig.context_after == "分段"
    pixel = next(i for i in changjiang.images if "stat.example.cn" in i.url)
    assert (pixel.width, pixel.height) == (1, 1)  # left for the image path to drop
    tea = sample_results["https://baike.example.cn/item/%E8%8C%B6"]
    pic = next(i for i in tea.images if "tea_gradient" in i.url)
    assert pic.url == "https://baike.example.cn/media/tea_gradient-960.webp"  # largest of <picture>
    assert (pic.width, pic.height) == (960, 640)
    stars = next(i for i in sample_results["https://baike.example.cn/item/%E5%A4%AA%E9%98%B3%E7%B3%BB"]
                 .images if "stars" in i.url)
    assert stars.url == "https://img.example.cn/lazy/noise_stars.png"  # data-src, protocol-relative
    howto = sample_results["https://jingyan.example.cn/article/h03.html"]
    (shot,) = howto.images
    assert shot.title == "在任务管理器中禁用开机启动项" and shot.alt == "任务管理器的启动选项卡截图"
    assert shot.context_after.startswith("完成以上步骤后重新启动电脑")


# ---------------------------------------------------------------------------------------------
# Hand-written pages


def test_link_lists_sidebars_and_small_forms_are_removed():
    links = "".join(f'<li><a href="/c/{i}">栏目{i}</a></li>' for i in range(8))
    html = (f"<html><head><title>测试文章标题 - 某网站</title></head><body>"
            f'<div class="top"><ul>{links}</ul></div>'
            f'<form action="/s"><input name="q"><button>搜索</button>站内搜索</form>'
            f"<div id='main'><h1>测试文章标题</h1>{ARTICLE}</div>"
            f'<div class="sidebar"><h3>热门推荐</h3><p>推荐阅读一篇很长的文章标题</p></div>'
            f"<footer>©2024 某网站 版权所有</footer></body></html>")
    doc = ExtractHTML().extract(html_page(html))
    assert doc.title == "测试文章标题"
    assert doc.text.count("\n") == 5 and doc.text.startswith("第0段")
    for junk in ("栏目", "站内搜索", "热门推荐", "版权所有"):
        assert junk not in doc.text


def test_a_form_wrapping_the_whole_page_is_kept():
    html = f'<html><body><form id="aspnetForm"><div>{ARTICLE}</div></form></body></html>'
    doc = ExtractHTML().extract(html_page(html))
    assert doc.text.count("长江流域") == 6


@pytest.mark.parametrize("head, body, title", [
    ("<title>长江 - 百科</title>", "<h1>长江</h1>", "长江"),
    ('<title>站点首页</title><meta property="og:title" content="真正的标题">', "<h1>别的</h1>",
     "真正的标题"),
    ("<title> 只有 标题 </title>", "", "只有 标题"),
    ("", "<h1>只有一级标题</h1>", "只有一级标题"),
])
def test_title_rules(head, body, title):
    doc = ExtractHTML().extract(html_page(f"<html><head>{head}</head><body>{body}{ARTICLE}</body></html>"))
    assert doc.title == title


@pytest.mark.parametrize("content_type, body, reason", [
    ("application/pdf", b"%PDF-1.4 ...", "not_html"),
    ("image/png", b"\x89PNG\r\n\x1a\n", "not_html"),
    ("text/plain", "这只是纯文本，不是网页。".encode() * 20, "not_html"),
    ("text/html", b"   \n\t ", "empty_page"),
    ("text/html", b"<html><head><title>only a title</title></head><body> </body></html>",
     "empty_page"),
    ("text/html", b"\x00\x01\x02binary" * 100, "binary_content"),
])
def test_rejections(content_type, body, reason):
    out = ExtractHTML().extract(html_page(body, content_type=content_type))
    assert isinstance(out, RejectedRecord) and out.reason == reason


def test_text_plain_that_is_html_is_extracted():
    doc = ExtractHTML().extract(html_page(f"<html><body>{ARTICLE}</body></html>",
                                          content_type="text/plain"))
    assert isinstance(doc, Document) and "第5段" in doc.text


def test_page_too_large_is_rejected_before_parsing():
    body = b"<html><body>" + b"<p>" + "很长的网页".encode() * 1_400_000 + b"</p></body></html>"
    assert len(body) > 20_000_000
    out = ExtractHTML().extract(html_page(body))
    assert (out.reason, out.text) == ("page_too_large", None)
    assert f"{len(body)} bytes > max_page_bytes=4194304" == out.detail
    small = ExtractHTML(ExtractConfig(max_page_bytes=100)).extract(html_page(f"<p>{ARTICLE}</p>"))
    assert small.reason == "page_too_large"


def test_status_rules_are_configurable():
    page = html_page(f"<html><body>{ARTICLE}</body></html>", status=206)
    assert ExtractHTML().extract(page).reason == "http_status"
    assert isinstance(ExtractHTML(ExtractConfig(ok_status=(200, 206))).extract(page), Document)


def test_no_main_text_keeps_what_was_visible_for_a_rerun():
    links = "".join(f'<li><a href="/{i}">频道{i}</a></li>' for i in range(30))
    out = ExtractHTML().extract(html_page(f"<html><head><title>导航</title></head><body><nav><ul>"
                                          f"{links}</ul></nav><ul>{links}</ul></body></html>"))
    assert out.reason == "no_main_text" and "频道29" in out.text and out.title == "导航"


def test_documents_pass_through_and_the_stage_pickles():
    stage = pickle.loads(pickle.dumps(ExtractHTML(ExtractConfig(context_max_chars=50))))
    assert stage.config.context_max_chars == 50
    doc = Document(id="d", source="forum", text="正文")
    assert list(stage.run([doc])) == [doc]


# ---------------------------------------------------------------------------------------------
# Issue 2, point 10: bad input never kills the job


def _warc(path: Path, records: list[tuple[str, bytes, str]], compress: bool) -> None:
    with path.open("wb") as f:
        w = WARCWriter(f, gzip=compress)
        for url, body, ctype in records:
            http = StatusAndHeaders("200 OK", [("Content-Type", ctype),
                                               ("Content-Length", str(len(body)))],
                                    protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                length=len(body), http_headers=http))


def test_bad_input_lands_in_rejected_with_the_right_reason(tmp_path):
    good = [(f"https://good.example.cn/{i}",
             f"<html><head><title>好文章{i}</title></head><body><h1>好文章{i}</h1>{ARTICLE}"
             f"</body></html>".encode(), "text/html; charset=utf-8") for i in range(6)]
    gbk = ("https://legacy.example.cn/gbk", f"<html><body>{ARTICLE}</body></html>".encode("gbk"),
           "text/html")
    empty = ("https://bad.example.cn/empty", b"", "text/html")
    huge = ("https://bad.example.cn/huge", b"<html><body><p>" + b"a" * 20_000_000 + b"</p>",
            "text/html")
    binary = ("https://bad.example.cn/binary", bytes(range(256)) * 40, "text/html")
    _warc(tmp_path / "a.warc.gz", [good[0], gbk, good[1], empty, good[2], huge, good[3], binary,
                                   good[4]], compress=True)
    # the same crawl, cut inside its last record: a truncated gzip
    data = (tmp_path / "a.warc.gz").read_bytes()
    _warc(tmp_path / "tail.warc.gz", [good[5]], compress=True)
    tail = (tmp_path / "tail.warc.gz").read_bytes()
    (tmp_path / "b.warc.gz").write_bytes(data + tail[: len(tail) // 2])
    # a plain WARC with a malformed record between two good ones
    _warc(tmp_path / "c.warc", [good[0], good[1]], compress=False)
    plain = (tmp_path / "c.warc").read_bytes()
    second = plain.index(b"WARC/1.0", 10)
    broken = (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: https://bad.example.cn/rec\r\n"
              b"Content-Length: twelve\r\n\r\nHTTP/1.1 200 OK\r\n\r\n<p>x</p>\r\n\r\n")
    (tmp_path / "c.warc").write_bytes(plain[:second] + broken + plain[second:])

    stage = ExtractHTML()
    docs, rejected = [], []
    for name in ("b.warc.gz", "c.warc"):
        kept, rej = split(stage.run(iter_records(str(tmp_path / name))))
        docs += kept
        rejected += rej
    reasons = {r.url: (r.stage, r.reason) for r in rejected}
    assert reasons == {
        "https://bad.example.cn/empty": ("extract", "empty_page"),
        "https://bad.example.cn/huge": ("extract", "page_too_large"),
        "https://bad.example.cn/binary": ("extract", "binary_content"),
        "https://good.example.cn/5": ("parse", "truncated_gzip"),
        "https://bad.example.cn/rec": ("parse", "malformed_record"),
    }
    by_url = {d.url: d for d in docs}
    assert sorted(by_url) == sorted([f"https://good.example.cn/{i}" for i in range(5)]
                                    + ["https://legacy.example.cn/gbk"])
    assert all(by_url[f"https://good.example.cn/{i}"].title == f"好文章{i}" for i in range(5))
    legacy = by_url["https://legacy.example.cn/gbk"]
    assert "长江流域气候温暖湿润" in legacy.text
    assert decode_html(gbk[1], None).charset == "gb18030"
