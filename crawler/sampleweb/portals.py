"""The sample portals: four fictional regional sites with different page structures, built from story files.

Each portal renders the same kind of content (home page, an education channel listing in pages of two,
article pages) in its own chrome: navigation, sidebars of related links, footers, and the trailers the
stories carry (`- END -` teasers, 相关阅读 lists, dated headline lists, editor credit lines).
"""

from __future__ import annotations

import dataclasses
import gzip
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from html import escape
from importlib import resources
from typing import Any

PAGE_SIZE = 2


@dataclass(frozen=True)
class Story:
    """One story of the sample web, as its story file describes it."""

    slug: str
    lang: str
    pairing: bool
    title: str
    published: datetime
    author: str
    source_name: str
    paragraphs: tuple[str, ...]
    captions: tuple[str, ...] = ()
    # Paragraphs of the body that are credits ("Pianshan Rong Media reporter Bu Kai"): shown in the body as
    # the portal printed them, and not part of the story an archive keeps.
    body_credits: tuple[str, ...] = ()
    trailer: dict[str, Any] = field(default_factory=dict)
    seed: str | None = None


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str
    # Feeds and sitemaps need absolute URLs: `{base}` in the body becomes the portal's root URL when served,
    # then the body is gzipped if asked (a .xml.gz sitemap file).
    templated: bool = False
    gzipped: bool = False
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    # Answer 503 with Retry-After: 1 to every other request (the 1st, 3rd...): each crawl meets one refusal.
    busy_every_other: bool = False

    def served(self, base_url: str) -> bytes:
        body = self.body
        if self.templated:
            alias = base_url.replace("//127.0.0.1:", "//localhost:")  # the same site under another host name
            body = body.replace(b"{base}", base_url.encode("ascii")).replace(
                b"{alias}", alias.encode("ascii")
            )
        return gzip.compress(body, mtime=0) if self.gzipped else body


@dataclass(frozen=True)
class Portal:
    name: str
    title: str
    style: str  # which chrome renders it: gov, table, html5, people
    lang: str
    encoding: str  # what the bytes are
    declared: str | None  # what the page's <meta> says (None: no <meta> charset)
    header_charset: str | None  # what the Content-Type header says (None: nothing)
    stories: tuple[str, ...]
    article_path: Callable[[Story, int], str]
    listing_paths: Callable[[int], str]  # page number (1-based) -> path
    # Article links on the first listing page that must not end as stories: "robots" (disallowed by
    # robots.txt, never to be fetched), "missing" (404), "broken" (served, but no article in it),
    # "offsite" (redirects off the portal: never followed), "binary" (a PDF: not downloaded).
    trouble: tuple[tuple[str, str], ...] = ()
    # Further entry points: "rss" or "atom" feed path, "sitemap" index path (its urlset is gzipped).
    feed: tuple[str, str] | None = None
    sitemap: str | None = None
    busy_listing: int | None = None
    # Its first listing page links its second story under another host name of the site (as www./m.).
    alias_link: bool = False


def load_stories() -> dict[str, Story]:
    """Every story file, by slug."""
    stories: dict[str, Story] = {}
    folder = resources.files("crawler.sampleweb").joinpath("stories")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        doc = tomllib.loads(entry.read_text(encoding="utf-8"))
        paragraphs = tuple(p.strip() for p in doc["body"].strip().split("\n\n") if p.strip())
        stories[doc["slug"]] = Story(
            slug=doc["slug"],
            lang=doc["lang"],
            pairing=doc["pairing"],
            title=doc["title"],
            published=datetime.fromisoformat(doc["published"]),
            author=doc.get("author", ""),
            source_name=doc.get("source_name", ""),
            paragraphs=paragraphs,
            captions=tuple(doc.get("captions", ())),
            body_credits=tuple(doc.get("body_credits", ())),
            trailer=doc.get("trailer", {}),
            seed=doc.get("seed"),
        )
    return stories


PORTALS: tuple[Portal, ...] = (
    Portal(
        name="huli-edu",
        title="湖里教育网",
        style="gov",
        lang="zh",
        encoding="utf-8",
        declared="gb2312",  # a lie: the bytes are UTF-8
        header_charset=None,
        stories=("huli-minning-16-schools", "huli-school-sports-meet", "huli-enterprise-village-pairing"),
        article_path=lambda s, i: f"/edu/{s.published:%Y%m%d}/t{s.published:%Y%m%d}_{1000 + i}.html",
        listing_paths=lambda n: "/edu/index.html" if n == 1 else f"/edu/index_{n - 1}.html",
        trouble=(
            ("missing", "/edu/20220101/t20220101_999.html"),
            ("offsite", "/edu/20220102/t20220102_998.html"),
            ("binary", "/edu/20220103/t20220103_997.html"),
        ),
        busy_listing=2,  # its second listing page answers 503 + Retry-After once
    ),
    Portal(
        name="linxia-news",
        title="临夏新闻网",
        style="table",
        lang="zh",
        encoding="gbk",
        declared="gb2312",
        header_charset=None,
        stories=("linxia-jinan-hand-in-hand", "linxia-final-exams", "linxia-hospital-pairing"),
        article_path=lambda s, i: f"/jy/{s.published:%Y%m}/{s.published:%d}{2000 + i}.htm",
        listing_paths=lambda n: f"/jy/list_{n}.htm",
        trouble=(("broken", "/jy/202206/309999.htm"),),
        feed=("rss", "/jy/rss.xml"),
    ),
    Portal(
        name="fj-observer",
        title="Fujian Observer",
        style="html5",
        lang="en",
        encoding="utf-8",
        declared=None,  # no declaration at all
        header_charset=None,
        stories=(
            "zhangzhou-muwei-cloud-signing",
            "suining-lixian-school-union",
            "zhejiang-26-county-alliance",
            "zhangzhou-hospital-counterpart",
        ),
        article_path=lambda s, i: f"/education/{s.published:%Y/%m/%d}/{s.slug}/",
        listing_paths=lambda n: "/education/" if n == 1 else f"/education/page/{n}/",
        trouble=(("robots", "/education/2099/01/01/embargoed-draft/"),),
        feed=("atom", "/education/feed.atom"),
    ),
    Portal(
        name="china-regional-en",
        title="China Regional English",
        style="people",
        lang="en",
        encoding="utf-8",
        declared="gbk",  # the header and the page disagree; the bytes are UTF-8
        header_charset="utf-8",
        stories=("anqing-education-complexes", "zhangzhou-muwei-cloud-signing", "fujian-gaokao-safety"),
        article_path=lambda s, i: f"/n1/{s.published:%Y/%m%d}/c90000-{31000 + i}.html",
        listing_paths=lambda n: f"/n1/edu/index{n}.html",
        sitemap="/sitemap_index.xml",
        alias_link=True,
    ),
)


def _e(text: str) -> str:
    return escape(text, quote=True)


def _paragraphs(story: Story) -> str:
    return "\n".join(f"<p>{_e(p)}</p>" for p in story.paragraphs)


def _trailer(story: Story, credit_default: str | None = None) -> str:
    """The junk a scraper finds inside the article container, after the story."""
    t = story.trailer
    out: list[str] = []
    if t.get("end_marker"):
        out.append("<p>- END -</p>")
    for i, teaser in enumerate(t.get("teasers", ())):
        out.append(
            f'<div class="teaser"><h4><a href="/news/teaser-{i}.html">{_e(teaser["title"])}</a></h4>'
            f"<p>{_e(teaser['summary'])}</p></div>"
        )
    if t.get("keywords"):
        label = "關鍵詞" if story.lang == "zh-Hant" else "关键词"
        out.append(f'<p class="keywords">{label}: {_e(t["keywords"])}</p>')
    if t.get("related"):
        items = "".join(
            f'<li><a href="/news/related-{i}.html">{_e(r["title"])}</a><p>{_e(r["summary"])} -</p></li>'
            for i, r in enumerate(t["related"])
        )
        out.append(
            f'<div class="related"><h3>{_e(t.get("related_heading", "相关阅读"))}</h3><ul>{items}</ul></div>'
        )
    if t.get("dated"):
        items = "".join(
            f'<li>- <a href="/news/list-{i}.html">{_e(d["title"])}</a>{_e(d["date"])}</li>'
            for i, d in enumerate(t["dated"])
        )
        out.append(f'<ul class="list-date">{items}</ul>')
    credit = t.get("credit") or credit_default
    if credit:
        out.append(f'<p class="editor">{_e(credit)}</p>')
    return "\n".join(out)


def _links(items: list[tuple[str, str]]) -> str:
    return "".join(f'<li><a href="{_e(href)}">{_e(text)}</a></li>' for href, text in items)


def _head(portal: Portal, title: str, extra: str = "") -> str:
    meta = (
        f'<meta http-equiv="Content-Type" content="text/html; charset={portal.declared}">\n'
        if portal.declared
        else ""
    )
    return f"<!DOCTYPE html>\n<html><head>{meta}<title>{_e(title)}</title>\n{extra}</head>\n"


def _byline_zh(story: Story) -> str:
    parts = [f"发布时间：{story.published:%Y-%m-%d %H:%M}"]
    if story.source_name:
        parts.append(f"来源：{_e(story.source_name)}")
    if story.author:
        parts.append(f"作者：{_e(story.author)}")
    return "　".join(parts)


def _captions(story: Story) -> str:
    return "".join(
        f'<p class="pic"><img src="/img/{story.slug}-{i}.jpg" alt=""></p><p class="pic-note">-{_e(c)}</p>'
        for i, c in enumerate(story.captions)
    )


def render_article(portal: Portal, story: Story, sidebar: list[tuple[str, str]]) -> str:
    """One article page of `story` in `portal`'s chrome."""
    side = _links(sidebar)
    if portal.style == "gov":
        return _head(
            portal,
            f"{story.title}_{portal.title}",
            f'<meta name="PubDate" content="{story.published:%Y-%m-%d %H:%M}">\n'
            f'<meta name="ContentSource" content="{_e(story.source_name)}">\n',
        ) + (
            f'<body><div class="top"><div class="logo">{portal.title}</div><ul class="nav">'
            + _links(
                [
                    ("/", "首页"),
                    ("/edu/index.html", "教育动态"),
                    ("/notice/", "通知公告"),
                    ("/about/", "机构概况"),
                ]
            )
            + '</ul></div>\n<div class="main"><div class="location">当前位置：<a href="/">首页</a> &gt; '
            '<a href="/edu/index.html">教育动态</a></div>\n<div class="left"><div class="article">'
            f'<h1>{_e(story.title)}</h1><div class="info">{_byline_zh(story)}</div>\n'
            f'<div id="zoom" class="TRS_Editor">{_captions(story)}{_paragraphs(story)}\n{_trailer(story)}</div>'
            '<div class="print">【<a href="javascript:window.print()">打印本页</a>】'
            '【<a href="javascript:window.close()">关闭窗口</a>】</div></div></div>\n'
            f'<div class="right"><div class="box"><h3>热点新闻</h3><ul>{side}</ul></div>'
            '<div class="box"><h3>专题专栏</h3><ul><li><a href="/zt/1/">党史学习教育</a></li>'
            '<li><a href="/zt/2/">双减工作</a></li></ul></div></div></div>\n'
            '<div class="footer"><p>版权所有：厦门市湖里区教育局　地址：厦门市湖里区 示例路1号</p>'
            "<p>网站标识码：3502060000　闽ICP备00000000号</p></div></body></html>"
        )
    if portal.style == "table":
        return _head(portal, f"{story.title}-{portal.title}") + (
            '<body><table width="1000" align="center"><tr><td class="banner">' + portal.title + "</td></tr>"
            '<tr><td class="menu"><a href="/">首页</a> | <a href="/jy/list_1.htm">教育</a> | '
            '<a href="/ws/">卫生</a> | <a href="/ny/">农业</a></td></tr></table>\n'
            '<table width="1000" align="center"><tr><td width="700" valign="top" class="content">'
            f'<div class="biaoti"><h2>{_e(story.title)}</h2></div>'
            f'<div class="shijian">{story.published:%Y年%m月%d日 %H:%M}　来源：{_e(story.source_name)}</div>\n'
            f'<div class="zhengwen">{_paragraphs(story)}\n{_trailer(story)}</div>'
            f'<div class="fenye"><p>上一篇：<a href="/jy/prev.htm">全州教师节表彰大会召开</a></p>'
            f'<p>下一篇：<a href="/jy/next.htm">春季学期开学准备工作就绪</a></p></div></td>'
            f'<td width="300" valign="top" class="side"><div class="tit">图片新闻</div><ul>{side}</ul>'
            '<div class="tit">便民服务</div><ul><li><a href="/bm/1.htm">天气预报</a></li>'
            '<li><a href="/bm/2.htm">公交查询</a></li></ul></td></tr></table>\n'
            '<table width="1000" align="center"><tr><td class="foot">主办：临夏新闻网　'
            "版权所有 未经授权禁止转载</td></tr></table></body></html>"
        )
    if portal.style == "html5":
        source_line = f"<p>Source: {_e(story.source_name)}</p>" if story.source_name else ""
        return _head(
            portal,
            f"{story.title} | {portal.title}",
            f'<meta property="article:published_time" content="{story.published.isoformat()}">\n'
            f'<meta name="author" content="{_e(story.author)}">\n',
        ) + (
            f'<body><header class="site-header"><a class="brand" href="/">{portal.title}</a>'
            "<nav><ul>"
            + _links(
                [
                    ("/", "Home"),
                    ("/education/", "Education"),
                    ("/economy/", "Economy"),
                    ("/about/", "About us"),
                ]
            )
            + "</ul></nav></header>\n"
            f"<main><article><h1>{_e(story.title)}</h1>"
            f'<div class="byline">Author:{_e(story.author)} Time:{story.published:%Y.%m.%d}</div>\n'
            f'<div class="article-body">{_paragraphs(story)}\n{source_line}\n{_trailer(story)}</div></article>\n'
            f'<aside class="sidebar"><h3>Most read</h3><ul>{side}</ul>'
            "<h3>Follow us</h3><p>Scan the QR code to follow Fujian Observer on WeChat.</p></aside></main>\n"
            "<footer><p>Copyright © 2022 Fujian Observer. All rights reserved.</p>"
            '<p><a href="/privacy/">Privacy</a> · <a href="/contact/">Contact</a></p></footer></body></html>'
        )
    # people: a national English site's regional channel
    return _head(
        portal,
        f"{story.title} - {portal.title}",
        f'<meta name="publishdate" content="{story.published:%Y-%m-%d}">\n',
    ) + (
        '<body><div class="w1000 top"><a href="/">China Regional English</a> | '
        '<a href="/n1/edu/index1.html">Education</a> | <a href="/n1/biz/">Business</a> | '
        '<a href="/n1/travel/">Travel</a></div>\n<div class="w1000 text_title">'
        f'<h1>{_e(story.title)}</h1><p class="box01">{story.published:%Y-%m-%d %H:%M}</p></div>\n'
        f'<div class="w1000 text_con"><div class="text_con_left"><div class="box_con">{_paragraphs(story)}\n'
        f"{_trailer(story, credit_default='(Editor: Zhang Wei) Sharing let more people see.')}</div></div>\n"
        f'<div class="text_con_right"><h3>Hot news</h3><ul>{side}</ul></div></div>\n'
        '<div class="w1000 foot">Copyright by China Regional English. All rights reserved.</div></body></html>'
    )


# The article templates a portal can serve (crawler.sampleweb.server.SampleWeb.use_template): its usual
# one, and a redesign an extractor reads poorly, as a portal's new template does without notice: "links"
# renders the whole body as a list of short link items in a link-heavy block (no text is found), "half"
# keeps the first half of the paragraphs as text and the rest as such links. Neither states a date.
TEMPLATES = ("usual", "links", "half")
SENTENCE_END = ("。", "！", "？", ". ")


def _pieces(paragraph: str) -> list[str]:
    """A paragraph cut after each sentence, as a redesign's link items show it."""
    out, start = [], 0
    for i, char in enumerate(paragraph):
        if paragraph[i : i + 2] in SENTENCE_END or char in SENTENCE_END:
            out.append(paragraph[start : i + 1].strip())
            start = i + 1
    rest = paragraph[start:].strip()
    return [p for p in [*out, rest] if p]


def render_redesign(portal: Portal, story: Story, sidebar: list[tuple[str, str]], template: str) -> str:
    """An article page of a redesigned portal: its body in link items (all of it, or its second half)."""
    paragraphs = list(story.paragraphs)
    kept = paragraphs[: len(paragraphs) // 2] if template == "half" else []
    linked = paragraphs[len(kept) :]
    items = [piece for p in linked for piece in _pieces(p)]
    links = "".join(
        f'<li><a href="/read/{story.slug}/{i}.html">{_e(piece)}</a></li>' for i, piece in enumerate(items)
    )
    text = "".join(f"<p>{_e(p)}</p>" for p in kept)
    return _head(portal, f"{story.title}_{portal.title}") + (
        f'<body><div class="content"><h1>{_e(story.title)}</h1><div class="text">{text}</div>'
        f'<div class="reader"><ul class="pieces">{links}</ul><ul class="side">{_links(sidebar)}</ul></div>'
        "</div></body></html>"
    )


def render_listing(portal: Portal, items: list[tuple[str, Story]], page: int, pages: int) -> str:
    """One page of the education channel: links to articles and to the next and previous pages."""
    rows = "".join(
        f'<li><a href="{_e(path)}">{_e(s.title)}</a><span class="date">{s.published:%Y-%m-%d}</span></li>'
        for path, s in items
    )
    if page == 1:
        rows += "".join(f'<li><a href="{_e(path)}">{_e(kind)}</a></li>' for kind, path in portal.trouble)
        if items:  # the first story again, as a share link with tracking parameters
            rows += f'<li><a href="{_e(items[0][0])}?utm_source=weixin&amp;from=timeline">分享</a></li>'
        if portal.alias_link and len(items) > 1:
            rows += f'<li><a href="{{alias}}{_e(items[1][0])}">手机版</a></li>'

    nav: list[str] = []
    label_prev, label_next = ("上一页", "下一页") if portal.lang == "zh" else ("Previous", "Next")
    if page > 1:
        nav.append(f'<a href="{portal.listing_paths(page - 1)}">{label_prev}</a>')
    if page < pages:
        nav.append(f'<a href="{portal.listing_paths(page + 1)}">{label_next}</a>')
    # A link that matches the article pattern but leads off the portal: never to be followed.
    offsite = f'<a href="http://mirror.invalid{items[0][0]}">mirror</a>' if items else ""
    return _head(portal, f"{portal.title}") + (
        f'<body><div class="header"><a href="/">{portal.title}</a></div>'
        f'<ul class="list">{rows}</ul><div class="pages">{" ".join(nav)}</div>'
        f'<div class="friends">{offsite}</div></body></html>'
    )


def render_home(portal: Portal, items: list[tuple[str, Story]]) -> str:
    rows = "".join(f'<li><a href="{_e(p)}">{_e(s.title)}</a></li>' for p, s in items)
    return _head(portal, portal.title) + (
        f'<body><h1>{portal.title}</h1><p><a href="{portal.listing_paths(1)}">'
        f"{'教育动态' if portal.lang == 'zh' else 'Education'}</a></p><ul>{rows}</ul></body></html>"
    )


def render_feed(portal: Portal, kind: str, items: list[tuple[str, Story]]) -> bytes:
    """An RSS 2.0 or Atom feed of the portal's articles, in the portal's encoding."""
    enc = portal.encoding
    if kind == "rss":
        rows = "".join(
            f"<item><title>{_e(s.title)}</title><link>{{base}}{_e(p)}</link>"
            f"<pubDate>{format_datetime(s.published)}</pubDate><description>{_e(s.paragraphs[0][:60])}</description>"
            "</item>"
            for p, s in items
        )
        xml = (
            f'<?xml version="1.0" encoding="{portal.declared or enc}"?>\n<rss version="2.0"><channel>'
            f"<title>{_e(portal.title)}</title><link>{{base}}/</link>{rows}</channel></rss>"
        )
    else:
        rows = "".join(
            f'<entry><title>{_e(s.title)}</title><link rel="alternate" href="{{base}}{_e(p)}"/>'
            f"<id>{{base}}{_e(p)}</id><published>{s.published.isoformat()}</published></entry>"
            for p, s in items
        )
        xml = (
            f'<?xml version="1.0" encoding="{enc}"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{_e(portal.title)}</title><id>{{base}}/</id>{rows}</feed>"
        )
    return xml.encode(enc)


def render_sitemaps(items: list[tuple[str, Story]]) -> tuple[bytes, bytes]:
    """A sitemap index and its one urlset (a Google News sitemap, with publication dates)."""
    newest = max(s.published for _, s in items)
    index = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{{base}}/sitemaps/edu.xml.gz</loc><lastmod>{newest.isoformat()}</lastmod></sitemap>"
        "</sitemapindex>"
    )
    urls = "".join(
        f"<url><loc>{{base}}{_e(p)}</loc><news:news><news:publication_date>{s.published.isoformat()}"
        f"</news:publication_date><news:title>{_e(s.title)}</news:title></news:news></url>"
        for p, s in items
    )
    urlset = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>'
    )
    return index.encode(), urlset.encode()


ROBOTS = "User-agent: *\nDisallow: /admin/\nDisallow: /search\n"
OFFSITE = "http://elsewhere.invalid"
# What a broken article page looks like: a template that died half-way, with bytes of no charset.
BROKEN_PAGE = b'<html><head><title>\xff\xfe\x00\x81</title></head><body><div class="zhengwen">\x81\x30'


def _published(portal: Portal, stories: Mapping[str, Story], count: int) -> list[Story]:
    """The `count` stories a portal carries beyond its own, oldest first: every story of the sample web
    in turn, again and again, a portal's own ones and each later round as a new edition (its text marked
    with the edition's number, so that it is a new text, not a copy of one stored). Short and long
    stories alternate, so that any ten in a row read like any other ten."""
    by_length = sorted(stories, key=lambda slug: (sum(map(len, stories[slug].paragraphs)), slug))
    pool = [slug for pair in zip(by_length, reversed(by_length), strict=True) for slug in pair]
    pool = list(dict.fromkeys(pool))
    out = []
    for i in range(count):
        slug = pool[i % len(pool)]
        edition = i // len(pool) + (slug in portal.stories)
        story = stories[slug]
        if edition:
            first = f"{story.paragraphs[0]} ({edition})"
            story = dataclasses.replace(
                story, slug=f"{slug}-{edition}", paragraphs=(first, *story.paragraphs[1:])
            )
        out.append(story)
    return out


def build_site(
    templates: Mapping[str, str] | None = None, published: Mapping[str, int] | None = None
) -> dict[str, dict[str, Page]]:
    """Every portal's pages: portal name -> path -> page. `templates`: the article template a portal
    serves (one of TEMPLATES, "usual" if not named); `published`: how many more stories a portal
    carries (`_published`), listed before its own."""
    stories = load_stories()
    site: dict[str, dict[str, Page]] = {}
    for portal in PORTALS:
        content_type = "text/html" + (f"; charset={portal.header_charset}" if portal.header_charset else "")
        template = (templates or {}).get(portal.name, "usual")

        def page(html: str, portal: Portal = portal, content_type: str = content_type) -> Page:
            return Page(html.encode(portal.encoding), content_type)

        items = [
            (portal.article_path(stories[slug], i), stories[slug]) for i, slug in enumerate(portal.stories)
        ]
        more = [
            (portal.article_path(story, 100 + i), story)
            for i, story in enumerate(_published(portal, stories, (published or {}).get(portal.name, 0)))
        ]
        items = more[::-1] + items  # the newest first
        robots = ROBOTS + "".join(f"Disallow: {path}\n" for kind, path in portal.trouble if kind == "robots")
        pages: dict[str, Page] = {
            "/": page(render_home(portal, items)),
            "/robots.txt": Page(robots.encode(), "text/plain"),
        }
        if portal.feed:
            kind, path = portal.feed
            ctype = "application/rss+xml" if kind == "rss" else "application/atom+xml"
            pages[path] = Page(render_feed(portal, kind, items), ctype, templated=True)
        if portal.sitemap:
            index, urlset = render_sitemaps(items)
            pages[portal.sitemap] = Page(index, "application/xml", templated=True)
            pages["/sitemaps/edu.xml.gz"] = Page(urlset, "application/gzip", templated=True, gzipped=True)
        for kind, path in portal.trouble:
            if kind == "broken":
                pages[path] = Page(BROKEN_PAGE, content_type)
            elif kind == "robots":  # a real article: fetching it would store a story
                pages[path] = page(render_article(portal, items[0][1], []))
            elif kind == "offsite":
                pages[path] = Page(b"", "text/html", status=302, headers=(("Location", OFFSITE + path),))
            elif kind == "binary":
                pages[path] = Page(b"%PDF-1.4\n" + b"0" * 2048, "application/pdf")
        for path, story in items:
            sidebar = [(p, s.title) for p, s in items if p != path]
            html = (
                render_article(portal, story, sidebar)
                if template == "usual"
                else render_redesign(portal, story, sidebar, template)
            )
            pages[path] = page(html)
        count = (len(items) + PAGE_SIZE - 1) // PAGE_SIZE
        for n in range(1, count + 1):
            chunk = items[(n - 1) * PAGE_SIZE : n * PAGE_SIZE]
            listing = page(render_listing(portal, chunk, n, count))
            if n == 1 and portal.alias_link:
                listing = dataclasses.replace(listing, templated=True)
            if n == portal.busy_listing:
                listing = dataclasses.replace(listing, busy_every_other=True)
            pages[portal.listing_paths(n)] = listing
        site[portal.name] = pages
    return site
