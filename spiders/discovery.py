"""Entry points beyond listing pages: RSS 2.0 and Atom feeds, sitemaps (index, urlset, Google News), gzip.

Pure functions over bytes: each returns the links it found with the date it gives them (feed item date,
sitemap lastmod or news publication date), so the spider can skip what is known or older than --since.
"""

from __future__ import annotations

import gzip
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

from lxml import etree
from parsel import Selector
from w3lib.html import get_base_url

from crawler.charset import decode_page
from crawler.sources import Source
from crawler.urls import in_domains

MAX_UNZIPPED = 50 * 1024 * 1024  # the sitemap protocol's own limit
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)


@dataclass(frozen=True)
class Entry:
    url: str
    date: datetime | None = None


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _date(text: str | None) -> datetime | None:
    if not text or not text.strip():
        return None
    text = text.strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            value = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def unzip_if_gzipped(body: bytes) -> bytes:
    """Sitemaps are often served as .xml.gz files (not Content-Encoding): unpack, within a size cap."""
    if body[:2] != b"\x1f\x8b":
        return body
    with gzip.GzipFile(fileobj=io.BytesIO(body)) as f:
        data = f.read(MAX_UNZIPPED + 1)
    if len(data) > MAX_UNZIPPED:
        raise ValueError(f"gzipped sitemap unpacks to more than {MAX_UNZIPPED} bytes")
    return data


XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>")


def _root(body: bytes) -> etree._Element | None:
    """The parsed document. Decoded by pairchive's charset rules first: feeds declare gb2312 and use
    GBK characters as often as pages do, and libxml2 stops at the first character it cannot map."""
    try:
        text = decode_page(unzip_if_gzipped(body)).text
        return etree.fromstring(XML_DECL_RE.sub("", text, count=1).encode("utf-8"), PARSER)
    except (etree.XMLSyntaxError, ValueError, OSError):
        return None


def feed_entries(body: bytes) -> list[Entry]:
    """Item links of an RSS 2.0 or Atom feed, with their published (or updated) dates."""
    root = _root(body)
    if root is None:
        return []
    entries: list[Entry] = []
    for node in root.iter():
        name = _local(node.tag)
        if name == "item":  # RSS
            fields = {_local(child.tag): child for child in node}
            link = fields.get("link")
            url = (link.text or "").strip() if link is not None else ""
            if not url and (guid := fields.get("guid")) is not None:
                url = (guid.text or "").strip()
            when = fields.get("pubdate") if "pubdate" in fields else fields.get("date")
            if url:
                entries.append(Entry(url, _date(when.text if when is not None else None)))
        elif name == "entry":  # Atom
            url, when_text = "", None
            for child in node:
                child_name = _local(child.tag)
                if child_name == "link" and child.get("rel", "alternate") == "alternate" and not url:
                    url = (child.get("href") or "").strip()
                elif child_name in ("published", "updated") and when_text is None:
                    when_text = child.text
            if url:
                entries.append(Entry(url, _date(when_text)))
    return entries


def sitemap_entries(body: bytes) -> tuple[str, list[Entry]]:
    """("index", child sitemaps) or ("urlset", page URLs), with lastmod or news publication dates."""
    root = _root(body)
    if root is None:
        return "unknown", []
    kind = "index" if _local(root.tag) == "sitemapindex" else "urlset"
    entries: list[Entry] = []
    for node in root:
        if _local(node.tag) not in ("sitemap", "url"):
            continue
        url, when = "", None
        for child in node.iter():
            name = _local(child.tag)
            if name == "loc" and not url:
                url = (child.text or "").strip()
            elif name in ("lastmod", "publication_date") and child.text:
                when = _date(child.text) or when
        if url:
            entries.append(Entry(url, when))
    return kind, entries


SKIP_SCHEMES = ("javascript:", "mailto:", "tel:", "#")
# Pagination links by their label: followed as listing pages even where listing_pattern misses them.
NEXT_PAGE_LABELS = {
    "下一页",
    "下页",
    "下一頁",
    "下頁",
    "后页",
    "後頁",
    "next",
    "next page",
    "next »",
    "›",
    "»",
    ">",
}


@dataclass
class ListingLinks:
    """A listing page's links, sorted as a crawl follows them (absolute, without fragments, in order)."""

    articles: list[str]
    listings: list[str]
    other: int  # off the portal, or matching neither pattern


def _is_next_page(link: Selector) -> bool:
    label = " ".join(link.css("::text").getall()).strip().lower()
    return label in NEXT_PAGE_LABELS or (link.attrib.get("rel") or "").lower() == "next"


def listing_links(html: str, url: str, source: Source) -> ListingLinks:
    """Article links (by `article_pattern`) and listing links (by `listing_pattern`, or labelled as the
    next page) on the portal; the crawl and `sources check` both read listing pages with this."""
    base = get_base_url(html, url)
    found = ListingLinks([], [], 0)
    for link in Selector(text=html or "<html></html>").css("a[href]"):
        href = (link.attrib.get("href") or "").strip()
        if not href or href.lower().startswith(SKIP_SCHEMES):
            continue
        absolute = urljoin(base, href).split("#", 1)[0]
        if not in_domains(absolute, source.allowed_domains):
            found.other += 1  # never followed (the offsite middleware would drop it too)
        elif source.article_re.search(absolute):
            found.articles.append(absolute)
        elif (source.listing_re is not None and source.listing_re.search(absolute)) or _is_next_page(link):
            found.listings.append(absolute)
        else:
            found.other += 1
    return found
