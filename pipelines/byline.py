"""The page's byline: the date, outlet and author lines a portal shows around the headline.

Extractors keep the story and often drop the line under the headline ("发布时间：2022-06-16 10:30　来源：
临夏州教育局　作者：马珺", "Time:2022.06.16 Source: Zhejiang Daily"), so it is read from the page itself:
the page's visible lines (tags stripped, blocks made lines), a few lines after the headline first.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from crawler.vocabulary.dates import DATE_RE, from_match, labelled_date
from pipelines.clean import AUTHOR_LABELS, SOURCE_LABELS, parse_byline

INVISIBLE_RE = re.compile(
    r"<(script|style|noscript|template|textarea|select)\b.*?</\1\s*>|<!--.*?-->|<head\b.*?</head\s*>",
    re.IGNORECASE | re.DOTALL,
)
# The optional slash is read once, not once per tag name: the names are whole words (`\b`), so at most
# one of them matches at a `<` and the order of the alternatives does not change what matches.
BLOCK_TAG_RE = re.compile(
    r"<(?:br|/?(?:p|div|li|ul|ol|h[1-6]|tr|table|section|article|header|footer|dd|dt|blockquote|td|th))\b[^>]*>",
    re.IGNORECASE,
)
TAG_RE = re.compile(r"<[^>]*>")
SPACE_RE = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
LINES_AFTER_TITLE = 8
BYLINE_MAX = 60
SENTENCE_RE = re.compile(r"[，。；！？]|[,.;!?]\s")
MAX_LINE = 160
FUTURE_SLACK = timedelta(days=2)


@dataclass
class Byline:
    published: datetime | None = None  # on a byline line under the headline
    labelled: datetime | None = None  # the page's first labelled date line ("发布时间：..."), anywhere
    source_name: str | None = None
    author: str | None = None


def visible_lines(html: str) -> list[str]:
    """The page's text as a reader sees it, roughly: one line per block, no scripts, styles or head."""
    text = TAG_RE.sub("", BLOCK_TAG_RE.sub("\n", INVISIBLE_RE.sub(" ", html)))
    lines = (SPACE_RE.sub(" ", line).strip() for line in html_lib.unescape(text).splitlines())
    return [line for line in lines if line]


def _title_index(lines: list[str], title: str) -> int | None:
    key = SPACE_RE.sub("", title)[:20]
    if len(key) < 4:
        return None
    for i, line in enumerate(lines):
        if key in SPACE_RE.sub("", line) and len(line) <= len(title) + 30:
            return i
    return None


def _plausible(found: datetime | None, now: datetime) -> datetime | None:
    return found if found is not None and found <= now + FUTURE_SLACK else None


def _date_in(line: str, tz: ZoneInfo, labelled_only: bool) -> datetime | None:
    if (found := labelled_date(line, tz)) or labelled_only:
        return found
    # An unlabelled date counts when the line is a byline ("2022-06-16 10:30 来源：...", "原创 南方都市报
    # 2019-09-09 16:01"): short and not a sentence, unlike a story line that mentions a date.
    if (parse_byline(line) is not None or (len(line) <= BYLINE_MAX and not SENTENCE_RE.search(line))) and (
        m := DATE_RE.search(line)
    ):
        return from_match(m, tz)
    return None


def read_byline(html: str, title: str, tz: ZoneInfo, now: datetime | None = None) -> Byline:
    """Date, outlet and author from the lines under the headline, and the page's first labelled date
    line. Dates in the future are not publication dates."""
    now = now or datetime.now(tz)
    lines = visible_lines(html)
    found = Byline()
    start = _title_index(lines, title)
    near = lines[start + 1 : start + 1 + LINES_AFTER_TITLE] if start is not None else []
    for line in near:
        if len(line) > MAX_LINE:
            continue
        if found.published is None:
            found.published = _plausible(_date_in(line, tz, labelled_only=False), now)
        for label, value in (parse_byline(line) or {}).items():
            if label in SOURCE_LABELS and value and not found.source_name:
                found.source_name = value
            if label in AUTHOR_LABELS and value and not found.author:
                found.author = value
    for line in lines:
        if len(line) <= MAX_LINE and (when := _plausible(_date_in(line, tz, labelled_only=True), now)):
            found.labelled = when
            break
    return found
