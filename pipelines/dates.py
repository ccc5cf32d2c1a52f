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
    "date",
)

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


def _from_match(m: re.Match[str], tz: ZoneInfo) -> datetime | None:
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
        return _from_match(m, tz) if m else None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def date_from_meta(tree: HtmlElement, tz: ZoneInfo) -> datetime | None:
    metas: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        content = meta.get("content")
        if key and content and key not in metas:
            metas[key] = content
    for key in META_DATE_KEYS:
        if key in metas and (found := parse_date(metas[key], tz)):
            return found
    for node in tree.iter("time"):
        if (value := node.get("datetime")) and (found := parse_date(value, tz)):
            return found
    return None


def date_from_text(text: str, tz: ZoneInfo) -> datetime | None:
    """The first labelled date line ("Time:2022.06.16") in the text, else the first date in its head."""
    for line in text.splitlines()[:15]:
        label = DATE_LINE_RE.search(line)
        if label and (m := DATE_RE.search(line, label.end())):
            return _from_match(m, tz)
    m = DATE_RE.search(text[:400])
    return _from_match(m, tz) if m else None


def date_from_url(url: str, tz: ZoneInfo) -> datetime | None:
    m = URL_DATE_RE.search(url)
    return _from_match(m, tz) if m else None


def most_trusted(
    meta: datetime | None, visible: datetime | None, from_url: datetime | None
) -> datetime | None:
    """Metadata first, then the visible date line, then the URL; but when the metadata gives only a day
    and the page shows a time on that same day, the visible one is the more precise and wins."""
    if (
        meta is not None
        and visible is not None
        and meta.timetz().replace(tzinfo=None) == time(0)
        and visible.astimezone(meta.tzinfo).date() == meta.date()
        and visible.timetz().replace(tzinfo=None) != time(0)
    ):
        return visible
    return meta or visible or from_url
