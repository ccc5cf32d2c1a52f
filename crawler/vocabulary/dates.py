"""Published dates: from the page's metadata, its visible date lines, then the URL, in that order of trust."""

from __future__ import annotations

import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

from lxml.html import HtmlElement

META_DATE_KEYS = (
    "article:published_time",
    "og:published_time",
    "publishdate",
    "pubdate",
    "publish_date",
    "publishtime",
    "dc.date.issued",
    "dc.date",
    "datepublished",
    "date",
)
JSON_LD_DATE_RE = re.compile(r'"datePublished"\s*:\s*"([^"]{8,40})"')

# 2022-06-16, 2022.06.16, 2022/6/16, 2022年6月16日, optionally followed by a time of day.
DATE_RE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*[-./年]\s*(?P<m>\d{1,2})\s*[-./月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:[ T]*(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?"
)
# Date lines a portal shows near the headline: "Time:2022.06.16", "发布时间：2022-06-16 10:30".
DATE_LINE_RE = re.compile(
    r"(?:time|date|published|发布时间|發布時間|发布日期|發布日期|时间|時間|日期)\s*[:：]\s*", re.IGNORECASE
)
URL_DATE_RE = re.compile(r"/(?P<y>(?:19|20)\d{2})[-/]?(?P<m>[01]\d)[-/]?(?P<d>[0-3]\d)/")


LEAD_SENTENCE_RE = re.compile(r"[，。；！？]|[,.;!?]\s")
LEAD_DATE_WITHIN = 30  # characters from the start of the paragraph
LABEL_GAP = 12  # at most this many characters between a label ("发布时间：") and its date


def labelled_date(line: str, tz: ZoneInfo) -> datetime | None:
    """The date a line gives after a date label ("Time:2022.06.16", "发布时间：2022-06-16 10:30"), when
    it starts right after the label."""
    label = DATE_LINE_RE.search(line)
    if label is None:
        return None
    m = DATE_RE.search(line, label.end())
    return from_match(m, tz) if m and m.start() - label.end() <= LABEL_GAP else None


def from_match(m: re.Match[str], tz: ZoneInfo) -> datetime | None:
    try:
        return datetime(
            int(m["y"]),
            int(m["m"]),
            int(m["d"]),
            int(m["H"] or 0) if "H" in m.groupdict() else 0,
            int(m["M"] or 0) if "M" in m.groupdict() else 0,
            int(m["S"] or 0) if "S" in m.groupdict() else 0,
            tzinfo=tz,
        )
    except ValueError:
        return None


def parse_date(value: str, tz: ZoneInfo) -> datetime | None:
    """An aware datetime from an ISO 8601 string or a Chinese/English date string; naive means `tz`."""
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        m = DATE_RE.search(value)
        return from_match(m, tz) if m else None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def date_from_meta(tree: HtmlElement, tz: ZoneInfo) -> datetime | None:
    """The publication date the page states for machines: meta tags, schema.org, `<time datetime>`."""
    metas: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        content = meta.get("content")
        if key and content and key not in metas:
            metas[key] = content
    for key in META_DATE_KEYS:
        if key in metas and (found := parse_date(metas[key], tz)):
            return found
    # schema.org: JSON-LD blocks, then microdata on any element.
    for script in tree.iter("script"):
        if (script.get("type") or "").lower() == "application/ld+json" and script.text:
            m = JSON_LD_DATE_RE.search(script.text)
            if m and (found := parse_date(m[1], tz)):
                return found
    for node in tree.xpath('//*[@itemprop="datePublished"]'):
        value = node.get("content") or node.get("datetime") or node.text_content()
        if value and (found := parse_date(value, tz)):
            return found
    for node in tree.iter("time"):
        if (value := node.get("datetime")) and (found := parse_date(value, tz)):
            return found
    return None


def date_from_text(text: str, tz: ZoneInfo) -> datetime | None:
    """The first labelled date line ("Time:2022.06.16", "发布时间：...") among the text's first lines."""
    for line in text.splitlines()[:15]:
        if found := labelled_date(line, tz):
            return found
    return None


def date_in_lead(text: str, tz: ZoneInfo) -> datetime | None:
    """A full date opening one of the story's first paragraphs ("2022年6月10日，..."): the event's day,
    which is most often the day it was reported. The least trusted source of a date; lines that are not
    prose (a headline list with dates) are passed over."""
    for line in text.splitlines()[:6]:
        if LEAD_SENTENCE_RE.search(line) and (m := DATE_RE.search(line, 0, LEAD_DATE_WITHIN)):
            return from_match(m, tz)
    return None


def date_from_url(url: str, tz: ZoneInfo) -> datetime | None:
    m = URL_DATE_RE.search(url)
    return from_match(m, tz) if m else None


def most_trusted(meta: datetime | None, *visible: datetime | None) -> datetime | None:
    """Metadata first, then each visible date in the order given (most trusted first); but when the
    metadata gives only a day and the best visible date has a time on that same day, the visible one is
    the more precise and wins."""
    shown = next((v for v in visible if v is not None), None)
    if (
        meta is not None
        and shown is not None
        and meta.timetz().replace(tzinfo=None) == time(0)
        and shown.astimezone(meta.tzinfo).date() == meta.date()
        and shown.timetz().replace(tzinfo=None) != time(0)
    ):
        return shown
    return meta or shown
