"""The reading room's parameters, read and bounded as the CLI bounds its options: a bad one is a 400 with
one line saying which and why, never a traceback."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

# As `pairchive search --limit`: the most hits one search hands out, whatever the page.
MAX_HITS = 10_000
PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_ID = 2_147_483_647  # the schema's integer range, as `pairchive show`
NAME = re.compile(r"[a-z0-9_-]{1,100}")
LANGUAGE = re.compile(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,3}")
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
SORTS = ("relevance", "date")
MAX_QUERY = 1000  # characters, as storage.fulltext refuses longer


class BadParameter(ValueError):
    """A parameter that cannot be used: one line, shown on a 400 page."""


def record_id(text: str) -> int:
    """An article id from a path: a whole number from 1 to the schema's integer range."""
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise BadParameter(f"not a story id: {text[:40]!r} (a whole number from 1 to {MAX_ID})")
    return int(text)


def _day(name: str, value: str) -> date | None:
    if not value:
        return None
    if not DAY.fullmatch(value):
        raise BadParameter(f"{name}={value[:40]!r}: a day is YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadParameter(f"{name}={value!r}: no such day") from None
    if not 1900 <= day.year <= 2200:
        raise BadParameter(f"{name}={value!r}: a day is in the years 1900 to 2200")
    return day


def _whole(name: str, value: str, default: int, low: int, high: int) -> int:
    if not value:
        return default
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
        raise BadParameter(f"{name}={value[:40]!r}: a whole number from {low} to {high} is expected")
    return int(value)


@dataclass(frozen=True)
class SearchParams:
    q: str = ""
    source: str = ""
    lang: str = ""
    since: date | None = None
    until: date | None = None
    all: bool = False  # every stored story, not only those judged pairings
    sort: str = "relevance"
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def of(cls, query: QueryParams) -> SearchParams:
        q = query.get("q", "").strip()
        if len(q) > MAX_QUERY:
            raise BadParameter(f"the query is {len(q)} characters long; at most {MAX_QUERY} can be searched")
        source = query.get("source", "")
        if source and not NAME.fullmatch(source):
            raise BadParameter(f"source={source[:40]!r}: a source name is letters a-z, digits, _ and -")
        lang = query.get("lang", "")
        if lang and not LANGUAGE.fullmatch(lang):
            raise BadParameter(f"lang={lang[:40]!r}: a language is a code such as zh, zh-Hant or en")
        sort = query.get("sort", "") or "relevance"
        if sort not in SORTS:
            raise BadParameter(f"sort={sort[:40]!r}: relevance or date")
        scope = query.get("all", "")
        if scope not in ("", "0", "1"):
            raise BadParameter(f"all={scope[:40]!r}: 1 (every stored story) or 0 (pairing stories only)")
        per_page = _whole("per_page", query.get("per_page", ""), PER_PAGE, 1, MAX_PER_PAGE)
        page = _whole("page", query.get("page", ""), 1, 1, MAX_HITS // per_page)
        since, until = _day("since", query.get("since", "")), _day("until", query.get("until", ""))
        if since and until and since > until:
            raise BadParameter(f"since={since} is after until={until}")
        return cls(q, source, lang, since, until, scope == "1", sort, page, per_page)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def filters(self) -> dict[str, Any]:
        """The keyword arguments of storage.search's filters."""
        return {
            "source": self.source or None,
            "language": self.lang or None,
            "since": self.since,
            "until": self.until,
            "pairing_only": not self.all,
        }

    def query_string(self, **changed: Any) -> str:
        """These parameters as a URL query (defaults left out), with `changed` ones replaced."""
        values = {**asdict(self), **changed}
        defaults = asdict(SearchParams())
        kept = {}
        for key, value in values.items():
            if value == defaults[key] or value in ("", None):
                continue
            kept[key] = "1" if value is True else str(value)
        return urlencode(kept)

    def echo(self) -> dict[str, Any]:
        """The parameters as the JSON API gives them back."""
        out = asdict(self)
        out["since"] = self.since.isoformat() if self.since else None
        out["until"] = self.until.isoformat() if self.until else None
        return out
