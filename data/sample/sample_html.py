"""HTML of the sample crawl: page templates of invented sites (an encyclopedia, a news portal, a
how-to site, a blog, a content farm, legacy table layouts, an English wiki), each with its real
chrome (navigation, breadcrumbs, sidebars, link lists, footers), and the junk pages."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from sample_articles import Article

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
