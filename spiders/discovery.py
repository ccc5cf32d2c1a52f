"""Entry points beyond listing pages: RSS 2.0 and Atom feeds, sitemaps (index, urlset, Google News), gzip.

Pure functions over bytes: each returns the links it found with the date it gives them (feed item date,
sitemap lastmod or news publication date), so the spider can skip what is known or older than --since.

Hostile files are refused, never read as empty: a file that is not a feed or sitemap (`unparsable`), one
that declares XML entities (`xml_entities`: entity expansion, "billion laughs", and external entities are
never expanded), one larger than its cap downloaded or unpacked (`too_large`: gzip is unpacked
incrementally, so a bomb costs at most the cap). A file holding more entries than its cap is read up to
the cap (`truncated`). Limits are the sitemap protocol's: 50 MB uncompressed and 50,000 URLs per file.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

from lxml import etree
from parsel import Selector
from w3lib.html import get_base_url

from crawler.vocabulary.charset import decode_page
from crawler.vocabulary.reasons import Reason
from crawler.vocabulary.sources import Source
from crawler.vocabulary.urls import in_domains

MAX_UNZIPPED = 50 * 1024 * 1024  # the sitemap protocol's own limit: 50 MB (52,428,800 bytes) per file
MAX_ENTRIES = 50_000  # ... and 50,000 URLs per file
# No entity is expanded, no DTD loaded, nothing fetched; libxml2's own limits on depth and node size kept.
# `recover`: feeds with a bare & or a stray tag are common and still readable. Always given UTF-8 (see
# _utf8), whatever the XML declaration says.
PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, recover=True, huge_tree=False, encoding="utf-8"
)


class Unreadable(ValueError):
    """A feed or sitemap that was not read: a reason word (for the run's rejections) and what was wrong."""

    def __init__(self, reason: Reason, detail: str) -> None:
        reason = Reason(reason)
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Caps:
    """How much one feed or sitemap file may hold: bytes (unpacked) and entries."""

    max_bytes: int = MAX_UNZIPPED
    max_entries: int = MAX_ENTRIES


@dataclass(frozen=True)
class Entry:
    url: str
    date: datetime | None = None


@dataclass(frozen=True)
class Discovered:
    """What one feed or sitemap file gave: its kind ("feed", "index" or "urlset"), its entries up to the
    cap, and whether it held more than that."""

    kind: str
    entries: list[Entry]
    truncated: bool = False


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


def unzip_if_gzipped(body: bytes, max_bytes: int = MAX_UNZIPPED) -> bytes:
    """Sitemaps are often served as .xml.gz files (not Content-Encoding): unpack, a chunk at a time, and
    refuse (`too_large`) as soon as more than `max_bytes` come out; a file of several gzip members is
    unpacked whole. Refused too: a body already over `max_bytes`, and gzip data that is corrupt."""
    if body[:2] != b"\x1f\x8b":
        if len(body) > max_bytes:
            raise Unreadable(Reason.TOO_LARGE, f"{len(body)} bytes, more than the cap of {max_bytes}")
        return body
    out = bytearray()
    data = body
    try:
        while data[:2] == b"\x1f\x8b":
            unzip = zlib.decompressobj(16 + zlib.MAX_WBITS)
            while data and not unzip.eof:
                out += unzip.decompress(data, max_bytes + 1 - len(out))
                data = unzip.unconsumed_tail
                if len(out) > max_bytes:
                    raise Unreadable(
                        Reason.TOO_LARGE, f"gzip data unpacks to more than the cap of {max_bytes} bytes"
                    )
            if not unzip.eof:
                raise Unreadable(Reason.UNPARSABLE, "gzip data ends early")
            data = unzip.unused_data
    except zlib.error as exc:
        raise Unreadable(Reason.UNPARSABLE, f"gzip data is corrupt: {exc}") from None
    return bytes(out)


MARKUP_RE = re.compile(rb"(\xef\xbb\xbf)?\s*<")


def _utf8(body: bytes, caps: Caps, encoding: str | None = None) -> bytes:
    """The file as UTF-8: unpacked, then decoded by pairchive's charset rules, as a page of the source is
    (a byte order mark, else the source's `encoding`, else what the bytes and declarations decide: feeds
    declare gb2312 and use GBK characters as often as pages do, and libxml2 stops at the first character
    it cannot map). ASCII and UTF-8 files are passed on as they are: a 50 MB sitemap is not copied."""
    data = unzip_if_gzipped(body, caps.max_bytes)
    if data.isascii():
        return data
    decoded = decode_page(data, None, encoding)
    return data if decoded.charset == "utf-8" else decoded.text.encode("utf-8")


def _root(data: bytes) -> etree._Element:
    """The parsed document; a document that declares entities is refused before anything reads it."""
    try:
        root = etree.fromstring(data, PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise Unreadable(Reason.UNPARSABLE, f"not XML: {exc}") from None
    if root is None:
        raise Unreadable(Reason.UNPARSABLE, "not XML")
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and (names := [e.name for e in dtd.iterentities()]):
        shown = ", ".join(str(n) for n in names[:3]) + (", ..." if len(names) > 3 else "")
        entities = "an XML entity" if len(names) == 1 else f"{len(names)} XML entities"
        raise Unreadable(Reason.XML_ENTITIES, f"declares {entities} ({shown}); none is expanded")
    return root


FEED_ROOTS = ("rss", "feed", "rdf")  # RSS 0.9x/2.0, Atom, RSS 1.0 (rdf:RDF)
SITEMAP_ROOTS = ("urlset", "sitemapindex")


def read_feed(body: bytes, caps: Caps = Caps(), encoding: str | None = None) -> Discovered:
    """Item links of an RSS or Atom feed, with their published (or updated) dates, up to the cap of
    entries; raises Unreadable for a file that is not read (see the module docstring). `encoding` is the
    source's, as for its pages."""
    root = _root(_utf8(body, caps, encoding))
    if _local(root.tag) not in FEED_ROOTS:
        raise Unreadable(Reason.UNPARSABLE, f"not an RSS or Atom feed: the document is <{_local(root.tag)}>")
    entries: list[Entry] = []
    for node in root.iter():
        if len(entries) > caps.max_entries:
            break
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
    return Discovered("feed", entries[: caps.max_entries], len(entries) > caps.max_entries)


def feed_entries(body: bytes, caps: Caps = Caps(), encoding: str | None = None) -> list[Entry]:
    """read_feed's entries."""
    return read_feed(body, caps, encoding).entries


def _text_sitemap(text: str, caps: Caps) -> Discovered:
    """A sitemap as the protocol's text format: one http(s) URL a line."""
    entries: list[Entry] = []
    for line in text.splitlines():
        url = line.strip()
        if not url:
            continue
        if not re.match(r"https?://\S+$", url, re.IGNORECASE):
            raise Unreadable(Reason.UNPARSABLE, "neither XML nor a list of URLs, one a line")
        if len(entries) == caps.max_entries:
            return Discovered("urlset", entries, truncated=True)
        entries.append(Entry(url))
    if not entries:
        raise Unreadable(Reason.UNPARSABLE, "empty")
    return Discovered("urlset", entries)


def read_sitemap(body: bytes, caps: Caps = Caps(), encoding: str | None = None) -> Discovered:
    """("index", child sitemaps) or ("urlset", page URLs), with lastmod or news publication dates, up to
    the cap of entries; the text format too; raises Unreadable for a file that is not read. `encoding`
    is the source's, as for its pages."""
    data = _utf8(body, caps, encoding)
    if not MARKUP_RE.match(data):
        return _text_sitemap(data.decode("utf-8", "replace"), caps)
    root = _root(data)
    if _local(root.tag) not in SITEMAP_ROOTS:
        raise Unreadable(Reason.UNPARSABLE, f"not a sitemap: the document is <{_local(root.tag)}>")
    kind = "index" if _local(root.tag) == "sitemapindex" else "urlset"
    entries: list[Entry] = []
    for node in root:
        if len(entries) > caps.max_entries:
            break
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
    return Discovered(kind, entries[: caps.max_entries], len(entries) > caps.max_entries)


def sitemap_entries(body: bytes, caps: Caps = Caps(), encoding: str | None = None) -> tuple[str, list[Entry]]:
    """read_sitemap's kind and entries."""
    found = read_sitemap(body, caps, encoding)
    return found.kind, found.entries


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
