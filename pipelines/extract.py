"""Extract stage: HTML -> title, body text and metadata, with trafilatura.

When trafilatura finds no body, the densest block of text is read instead (`pipelines.density`), if it
reads as a story; when neither finds one we keep the reason (`no_text`) instead of storing an empty story.
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import htmldate
import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.metadata import examine_meta, extract_title
from trafilatura.utils import load_html

from crawler.vocabulary.dates import date_from_meta, date_from_text, date_from_url, date_in_lead, most_trusted
from crawler.vocabulary.items import PageItem
from crawler.vocabulary.reasons import Reason, Rejected
from pipelines import Stage
from pipelines.byline import read_byline
from pipelines.density import block_text, densest_block

logger = logging.getLogger(__name__)

# The extraction rules' version, recorded with every article and revision they produce: bump it whenever a
# change makes this stage read some page differently, so the archive can tell which rules made a text.
VERSION = "4"  # 4: control characters written as references dropped; UTF-32 and false charsets read
MIN_TEXT_CHARS = 50
SITE_SUFFIX_RE = re.compile(r"\s*[-_|—–]+\s*[^-_|—–]{1,30}$")
# A character reference to a C0 control other than tab, newline and carriage return (`&#27;`, the ESC of a
# terminal escape): libxml2 makes the character, which no lxml text may then hold, so trafilatura drops
# the page and the fallback fails on it. It goes before parsing, as the raw character does in parsing.
XML_UNSAFE_REF_RE = re.compile(
    r"&#(?:0*(?:[0-8]|1[1-24-9]|2\d|3[01])(?!\d)|[xX]0*(?:[0-8bcefBCEF]|1[0-9a-fA-F])(?![0-9a-fA-F]));?"
)


@dataclass
class Extracted:
    title: str
    text: str
    published: datetime | None
    author: str | None
    declared_language: str | None = None
    source_name: str | None = None
    link_canonical: str | None = None


def _title_and_author(tree: HtmlElement) -> tuple[str, str | None]:
    """trafilatura's title and author readers (meta tags, then headings and <title>), without the
    date search of its full metadata pass, which costs as much as extracting the body."""
    meta = examine_meta(tree)
    title = meta.title or extract_title(tree) or ""
    return SITE_SUFFIX_RE.sub("", title.strip()) if title == _html_title(tree) else title.strip(), meta.author


LANGUAGE_META_KEYS = ("content-language", "language", "og:locale", "dc.language")


def declared_language(tree: HtmlElement) -> str | None:
    """The language the page says it is in: `<html lang>`, then Content-Language and similar meta tags."""
    if value := (tree.get("lang") or tree.get("xml:lang") or "").strip():
        return value
    for meta in tree.iter("meta"):
        key = (meta.get("http-equiv") or meta.get("name") or meta.get("property") or "").lower()
        if key in LANGUAGE_META_KEYS and (value := (meta.get("content") or "").strip()):
            return value.split(",")[0].strip()
    return None


def _html_title(tree: HtmlElement) -> str:
    node = tree.find(".//head//title")
    return node.text_content().strip() if node is not None else ""


LAYOUT_BLOCKS = {"div", "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "article", "section"}
TABLE_PARTS = {"table", "tbody", "thead", "tfoot", "tr", "td", "th"}


def unwrap_layout_tables(tree: HtmlElement) -> None:
    """Turn tables used for page layout (cells holding paragraphs, headings, lists) into plain divs.

    Old portal templates lay out the whole page in tables; an extractor then takes the page for one data
    table and keeps the navigation and footer with the story. Tables of data (cells of text) stay tables.
    """
    for table in list(tree.iter("table")):
        cells = [el for el in table.iter("td", "th")]
        if any(child.tag in LAYOUT_BLOCKS for cell in cells for child in cell):
            for el in [table, *table.iter(*TABLE_PARTS)]:
                el.tag = "div"
                for attr in ("width", "align", "valign", "colspan", "rowspan"):
                    el.attrib.pop(attr, None)


LINK_LIST_BLOCKS = {"ul", "ol", "dl", "div", "section", "aside", "nav", "table", "td", "tr"}
MIN_LINKS = 3
LINK_DENSITY = 0.6
PROSE_CHARS = 40


def _chars(text: str | None) -> int:
    # str.split() and the regex `\s` split on the same characters (Unicode whitespace); joining is a
    # C loop where a substitution builds a match object per run of spaces.
    return len("".join(text.split())) if text else 0


DATE_ONLY_RE = re.compile(
    r"^[\s(（\[]*(?:(?:19|20)\d{2}[-./年])?\d{1,2}[-./月]\d{1,2}日?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?[\s)）\]]*$"
)


def _date_chars(text: str | None) -> int:
    """The length of a text that is only a date (a headline list's "2022-03-01", "(06-16)"), else 0."""
    return _chars(text) if text and len(text) <= 30 and DATE_ONLY_RE.match(text) else 0


def _link_blocks(tree: HtmlElement) -> list[HtmlElement]:
    """The blocks `prune_link_lists` removes, children before their parents.

    One walk of the tree: each element's (chars, link chars, links, longest text run outside links) is
    summed from its own text and its children's as their ends are reached, on a stack, so no element is
    looked up or iterated twice. A comment's tail counts for its parent as any child's does.
    """
    stack: list[list[int]] = []
    blocks = []
    for event, el in etree.iterwalk(tree, events=("start", "end", "comment", "pi")):
        if event == "start":
            own = _chars(el.text)
            stack.append([own, _date_chars(el.text), 0, own])
            continue
        if event == "end":
            chars, link_chars, links, prose = stack.pop()
            if el.tag == "a":
                link_chars, links, prose = chars, links + 1, 0
            elif (
                el.tag in LINK_LIST_BLOCKS
                and links >= MIN_LINKS
                and chars
                and link_chars >= LINK_DENSITY * chars
                and prose < PROSE_CHARS
            ):
                blocks.append(el)
        else:
            chars = link_chars = links = prose = 0
        if stack:
            tail = el.tail
            parent, tail_chars = stack[-1], _chars(tail)
            parent[0] += chars + tail_chars
            parent[1] += link_chars + _date_chars(tail)
            parent[2] += links
            parent[3] = max(parent[3], prose, tail_chars)
    return blocks


def prune_link_lists(tree: HtmlElement) -> int:
    """Remove blocks that are mostly link text: navigation bars, related-headline lists, rankings.

    A block goes when it holds at least three links, at least 60% of its visible characters are link
    text (or bare dates beside the links: a dated headline list), and none of its text outside links is a
    paragraph (a run of PROSE_CHARS or more). A story's container holds such paragraphs, so a sidebar goes
    and the story beside it stays, whatever the site calls its classes. The price: a list of links inside
    a story (a reading list) goes too. Every block is judged on the whole page, before any goes.
    Returns how many blocks went.
    """
    removed = 0
    for el in _link_blocks(tree):
        if el.getparent() is not None:
            el.drop_tree()  # its tail text (if any) stays
            removed += 1
    return removed


def _htmldate(tree: HtmlElement, url: str, tz: ZoneInfo) -> datetime | None:
    try:
        found = htmldate.find_date(tree, extensive_search=False, original_date=True, url=url)
    except (ValueError, TypeError):
        return None
    if not found:
        return None
    try:
        return datetime.fromisoformat(found).replace(tzinfo=tz)
    except ValueError:
        return None


def _prepared_tree(html: str) -> HtmlElement | None:
    """The page parsed, its layout tables unwrapped and its link lists pruned."""
    # trafilatura's loader: it drops comments (a `<!--keyword-->` marker inside a paragraph makes the
    # extractor lose the text around it), XML declarations and characters libxml2 cannot take, and works
    # around libxml2's doctype bug, which otherwise leaves some pages without a body.
    tree = load_html(html)
    if tree is not None:
        unwrap_layout_tables(tree)
        prune_link_lists(tree)
    return tree


def body_text(tree: HtmlElement, html: str, url: str) -> str | None:
    """The story's text: trafilatura's, else the densest block's (a short post or an unusual template
    where trafilatura keeps nothing), else None. Prunes `tree`."""
    doc = trafilatura.bare_extraction(
        tree, url=url, with_metadata=False, include_comments=False, include_tables=True
    )
    if doc is not None and not isinstance(doc, dict) and doc.text and len(doc.text.strip()) >= MIN_TEXT_CHARS:
        return str(doc.text.strip())
    # trafilatura has pruned its tree: the fallback reads the page afresh.
    fresh = _prepared_tree(html)
    block = densest_block(fresh) if fresh is not None else None
    if block is None:
        return None
    logger.debug("trafilatura found no body in %s; read its densest block <%s>", url, block.tag)
    text = block_text(block)
    return text if len(text) >= MIN_TEXT_CHARS else None


def extract_article(html: str, url: str, timezone: str = "Asia/Shanghai") -> Extracted | None:
    """Title, text (one paragraph per line), published date and author; None when there is no body."""
    html = XML_UNSAFE_REF_RE.sub("", html)
    tree = load_html(html)  # trafilatura's loader, for the reasons `_prepared_tree` gives
    if tree is None:
        return None
    # Metadata is read here, not by trafilatura: its metadata pass doubles the cost of extraction.
    # Read before extraction: trafilatura prunes the tree it is given.
    tz = ZoneInfo(timezone)
    meta_date = date_from_meta(tree, tz)
    title, author = _title_and_author(tree)
    language = declared_language(tree)
    link = tree.find(".//head/link[@rel='canonical']")
    link_canonical = (link.get("href") or "").strip() or None if link is not None else None
    byline = read_byline(html, title, tz)
    unwrap_layout_tables(tree)
    prune_link_lists(tree)
    # htmldate's own search, for pages that state no date our readers know (it costs as much as
    # extraction, so only then), on the page without its link lists: a sidebar's dates are not the story's.
    found_by_htmldate = None
    if meta_date is None and byline.published is None and byline.labelled is None:
        found_by_htmldate = _htmldate(copy.deepcopy(tree), url, tz)
    text = body_text(tree, html, url)
    if text is None:
        return None
    return Extracted(
        title=title,
        text=text,
        # In order of trust: metadata, the byline under the headline, a labelled date line in the story,
        # the page's first labelled date line, htmldate's guess, the URL, the first date in the story's
        # opening.
        published=most_trusted(
            meta_date,
            byline.published,
            date_from_text(text, tz),
            byline.labelled,
            found_by_htmldate,
            date_from_url(url, tz),
            date_in_lead(text, tz),
        ),
        author=author or byline.author,
        source_name=byline.source_name,
        link_canonical=link_canonical,
        declared_language=language,
    )


class ExtractPipeline(Stage):
    def process(self, item: PageItem) -> PageItem:
        found = extract_article(item.html, item.url, item.timezone)
        if found is None:
            raise Rejected(Reason.NO_TEXT, f"no article body found in {item.url}")
        item.title = found.title
        item.raw_text = found.text
        item.published = found.published
        item.author = found.author
        item.declared_language = found.declared_language
        item.source_name = found.source_name
        item.link_canonical = found.link_canonical
        logger.debug("extracted %d chars from %s", len(found.text), item.url)
        return item
