r"""The source registry: portals declared in a TOML file, validated when loaded.

Every error names the file, the source and the key, on one line, so an operator adding a portal sees
exactly what to fix before the first nightly run.

`article_pattern` and `listing_pattern` are matched by RE2 (google-re2), whose matching time is linear in
the URL: a pattern with nested quantifiers such as `(a+)+$` cannot backtrack for hours on a long URL (in
Python's `re` it would, holding the interpreter so that not even SIGTERM is handled). What RE2 cannot
express (backreferences, lookahead and lookbehind, atomic groups and possessive quantifiers) is refused
when the file is loaded; Python's spellings RE2 reads otherwise (`{,3}`, `\Z`, `\u4e2d`) are rewritten to
mean what they mean in Python (`re2_spelling`). As in RE2, `\d`, `\w`, `\s` and `\b` are ASCII classes.
"""

from __future__ import annotations

import codecs
import functools
import math
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import re2

from crawler.vocabulary.charset import charset_codec
from crawler.vocabulary.durations import duration_text, parse_duration
from crawler.vocabulary.errors import SourceConfigError
from crawler.vocabulary.urls import in_domains
from storage.redact import scrub

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

# Matched whole: a name becomes a directory of the WARC archive, and "^...$" would pass "name\n".
NAME_RE = re.compile(r"[a-z0-9_-]+")
DEFAULT_SCHEDULE = "0 2 * * *"
DEFAULT_TIMEZONE = "Asia/Shanghai"
# Caps on the per-run limits: beyond them a value is a typo, and nan or inf would never end a run.
MAX_PAGES = 10_000_000
MAX_MINUTES = 525_600  # a year
MAX_WORKERS = 64  # workers crawling one run of a source together (a frontier and a per-host budget shared)
# Bounds of a source's polling interval: a cron schedule's finest step, and its coarsest (yearly).
SHORTEST_INTERVAL = timedelta(minutes=1)
LONGEST_INTERVAL = timedelta(days=365)
# The keys that give a source its entry points: it needs one URL in any of them.
ENTRY_POINT_KEYS = ("start_urls", "feeds", "sitemaps")


class UrlPattern(Protocol):
    """A compiled `article_pattern` or `listing_pattern` (RE2's): `search` takes time linear in the URL."""

    def search(self, text: str) -> object | None: ...


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # else RE2 writes its own line to stderr beside the one-line error


class PatternError(ValueError):
    """A pattern RE2 does not compile: a bad regular expression, or one RE2 cannot express."""


_HEX_ESCAPES = {"u": 4, "U": 8}
_NAMED_ESCAPE_RE = re.compile(r"\\N\{([^}]*)\}")
_OPEN_REPEAT_RE = re.compile(r"\{,(\d*)\}")


def re2_spelling(pattern: str) -> str:
    r"""`pattern` with the Python syntax RE2 reads otherwise written as RE2 reads it, meaning the same:
    `{,n}` and `{,}` (from none: RE2 reads them as literal text, so the pattern would silently match less)
    become `{0,n}` and `{0,}`; `\Z` (end of text: RE2 refuses it) becomes RE2's `\z`; `\uXXXX`,
    `\UXXXXXXXX` and `\N{NAME}` become `\x{...}` and an escaped non-ASCII character the character (RE2
    refuses them). Escaped text and text in brackets are kept."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            width = _HEX_ESCAPES.get(e, 0)
            digits = pattern[i + 2 : i + 2 + width]
            named = _NAMED_ESCAPE_RE.match(pattern, i) if e == "N" else None
            if e == "Z" and not in_class:  # in a class, Python refuses it too
                out.append("\\z")
            elif not e.isascii():  # never an operator: Python reads it as the character itself
                out.append(e)
            elif width and len(digits) == width and all(d in "0123456789abcdefABCDEF" for d in digits):
                out.append(f"\\x{{{digits}}}")
                i += width
            elif named:
                try:
                    out.append(f"\\x{{{ord(unicodedata.lookup(named[1])):x}}}")
                    i = named.end() - 2
                except KeyError:  # Python refuses it: left as is, for the error to say so
                    out.append(pattern[i : i + 2])
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
        elif c == "[":
            in_class = True
            out.append(c)
            i += 1
            # a "]" first in the class (after "^") is one of its characters
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":
                out.append("]")
                i += 1
            continue
        elif c == "{" and (m := _OPEN_REPEAT_RE.match(pattern, i)):
            out.append(f"{{0,{m[1]}}}")
            i = m.end()
            continue
        out.append(c)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=256)
def url_pattern(pattern: str) -> UrlPattern:
    """`pattern` compiled by RE2 (as `re2_spelling` writes it); a pattern it does not compile is a
    `PatternError` saying why, in RE2's words."""
    try:
        return cast(UrlPattern, re2.compile(re2_spelling(pattern), _RE2_OPTIONS))
    except re2.error as exc:
        problem = b" ".join(a for a in exc.args if isinstance(a, bytes)).decode("utf-8", "replace") or str(
            exc
        )
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        raise PatternError(f"bad regular expression {pattern!r}: {problem}") from None
    raise PatternError(
        f"{pattern!r} is not a pattern RE2 can match ({problem}): patterns are matched by RE2, in time "
        "linear in the URL, which has no backreferences, lookahead, lookbehind, atomic groups or possessive "
        "quantifiers, and repeats a part at most 1000 times"
    )


@dataclass(frozen=True)
class Source:
    """One portal: where to start, which links are articles, which are more listing pages."""

    name: str
    title: str
    start_urls: tuple[str, ...]
    allowed_domains: tuple[str, ...]
    article_pattern: str
    listing_pattern: str | None = None
    schedule: str = DEFAULT_SCHEDULE
    timezone: str = DEFAULT_TIMEZONE
    encoding: str | None = None
    max_pages: int | None = None
    max_minutes: float | None = None
    stop_at_known: bool = True
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    same_hosts: tuple[str, ...] = ()  # host names serving the same pages; the first is canonical
    region: str | None = (
        None  # the portal's own region (福建省厦门市): resolves the short place names it writes
    )
    # Adaptive polling (crawler.vocabulary.polling): both or neither; none visits at every cron time.
    min_interval: timedelta | None = None
    max_interval: timedelta | None = None
    # Distributed crawls (`pairchive worker`): how many workers may crawl one run of it together.
    max_workers: int = 1

    @property
    def article_re(self) -> UrlPattern:
        return url_pattern(self.article_pattern)

    @property
    def listing_re(self) -> UrlPattern | None:
        return url_pattern(self.listing_pattern) if self.listing_pattern else None

    def to_dict(self) -> dict[str, Any]:
        """The source as the TOML table it came from (for passing to a crawl subprocess)."""
        out: dict[str, Any] = {
            "name": self.name,
            "title": self.title,
            "allowed_domains": list(self.allowed_domains),
            "article_pattern": self.article_pattern,
            "schedule": self.schedule,
            "timezone": self.timezone,
        }
        for key in ("start_urls", "feeds", "sitemaps", "same_hosts"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        if not self.stop_at_known:
            out["stop_at_known"] = False
        for key in ("listing_pattern", "encoding", "max_pages", "max_minutes", "region"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        for key in ("min_interval", "max_interval"):
            if getattr(self, key) is not None:
                out[key] = duration_text(getattr(self, key))
        if self.max_workers != 1:
            out["max_workers"] = self.max_workers
        return out


DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _cron_days(field: str) -> str:
    """Standard cron day-of-week numbers (0 or 7 = Sunday) as names.

    APScheduler 3 numbers days from Monday = 0, so "1" in a crontab would fire on Tuesdays; names mean
    the same thing to both.
    """
    out: list[str] = []
    for item in field.split(","):
        body, _, step = item.partition("/")
        if body == "*" and step:
            out.extend(DAY_NAMES[d] for d in range(0, 7, int(step)))  # cron counts */n from Sunday
            continue
        if body == "*" or not any(ch.isdigit() for ch in body):
            out.append(item)
            continue
        first, _, last = body.partition("-")
        if not (first.isdigit() and (not last or last.isdigit())):
            raise ValueError(f"bad day of week {item!r}")
        lo, hi = int(first), int(last) if last else int(first)
        if step and not last:
            hi = 6
        if not (0 <= lo <= 7 and 0 <= hi <= 7 and lo <= hi):
            raise ValueError(f"bad day of week {item!r}")
        days = range(lo, hi + 1, int(step) if step else 1)
        out.extend(DAY_NAMES[d] for d in days)
    return ",".join(dict.fromkeys(out))


def cron_trigger(schedule: str, timezone: str) -> CronTrigger:
    """A trigger for a standard five-field crontab line, in `timezone`."""
    fields = schedule.split()
    if len(fields) != 5:
        raise ValueError(f"wrong number of fields; got {len(fields)}, expected 5")
    minute, hour, day, month, dow = fields
    if day != "*" and dow != "*":
        # cron fires when either matches; APScheduler only when both do. Refuse rather than differ.
        raise ValueError("restrict the day of month or the day of week, not both")
    # APScheduler is imported where a schedule is read: loading it costs more than the rest of this module.
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=_cron_days(dow), timezone=timezone
    )


KNOWN_KEYS = {
    "name",
    "title",
    "start_urls",
    "allowed_domains",
    "article_pattern",
    "listing_pattern",
    "schedule",
    "timezone",
    "encoding",
    "max_pages",
    "max_minutes",
    "stop_at_known",
    "feeds",
    "sitemaps",
    "same_hosts",
    "region",
    "min_interval",
    "max_interval",
    "max_workers",
}


class _Checker:
    """Validates one [[source]] table; `fail` raises with file, source and key in the message."""

    def __init__(self, path: str, index: int, table: Mapping[str, Any]) -> None:
        self.path = path
        self.table = table
        raw_name = table.get("name")
        self.label = f"source {raw_name!r}" if isinstance(raw_name, str) else f"source #{index + 1}"

    def fail(self, key: str, problem: str) -> SourceConfigError:
        return SourceConfigError(f"{self.path}: {self.label}: key '{key}': {problem}")

    def string(self, key: str, *, required: bool = False) -> str | None:
        value = self.table.get(key)
        if value is None:
            if required:
                raise self.fail(key, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be a non-empty string, got {value!r}")
        return value

    def string_list(
        self, key: str, *, required: bool = False, may_be_empty: bool = False
    ) -> list[str] | None:
        """A list of non-empty strings; `may_be_empty` where an empty list just means none of them."""
        value = self.table.get(key)
        if value is None:
            if required:
                raise self.fail(key, "is required")
            return None
        if (
            not isinstance(value, list)
            or (not value and not may_be_empty)
            or not all(isinstance(v, str) and v for v in value)
        ):
            kind = "list of non-empty strings" if may_be_empty else "non-empty list of strings"
            raise self.fail(key, f"must be a {kind}, got {value!r}")
        return value

    def duration(self, key: str) -> timedelta | None:
        value = self.string(key)
        if value is None:
            return None
        try:
            found = parse_duration(value.strip())
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None
        if not SHORTEST_INTERVAL <= found <= LONGEST_INTERVAL:
            raise self.fail(key, f"must be from 1m to {LONGEST_INTERVAL.days}d, got {value!r}")
        return found

    def polling_bounds(self) -> tuple[timedelta | None, timedelta | None]:
        """`min_interval` and `max_interval`: both or neither, the first no longer than the second."""
        low, high = self.duration("min_interval"), self.duration("max_interval")
        if (low is None) != (high is None):
            given, missing = (
                ("min_interval", "max_interval") if high is None else ("max_interval", "min_interval")
            )
            raise self.fail(missing, f"is required beside {given}: adaptive polling needs both bounds")
        if low is not None and high is not None and low > high:
            raise self.fail(
                "min_interval",
                f"{duration_text(low)} is longer than max_interval {duration_text(high)}",
            )
        return low, high

    def regex(self, key: str, *, required: bool = False) -> str | None:
        value = self.string(key, required=required)
        if value is not None:
            try:
                url_pattern(value)
            except PatternError as exc:
                raise self.fail(key, str(exc)) from None
        return value

    def entry_points(self) -> dict[str, list[str]]:
        """Each entry-point key's URLs: a source needs one URL of any kind, so an empty list beside
        another kind is simply none of that kind; with no URL at all, the error names the key given
        empty (or `start_urls`)."""
        found: dict[str, list[str]] = {}
        for key in ENTRY_POINT_KEYS:
            found[key] = self.string_list(key, may_be_empty=True) or []
            for url in found[key]:
                parts = urlsplit(url)
                if parts.scheme not in ("http", "https") or not parts.hostname:
                    raise self.fail(key, f"{scrub(url)!r} is not an http(s) URL")
                if parts.username is not None or parts.password is not None:
                    # A crawl would send it with every request and keep it in every URL it archives.
                    raise self.fail(
                        key,
                        f"{scrub(url)!r} holds a user name or password: pairchive crawls public pages only",
                    )
        if not any(found.values()):
            given = [key for key in ENTRY_POINT_KEYS if key in self.table]
            if given:
                raise self.fail(
                    given[0],
                    f"is empty, and the source has no other entry point: give at least one URL in "
                    f"{', '.join(ENTRY_POINT_KEYS)}",
                )
            raise self.fail(
                "start_urls", "is required (or feeds, or sitemaps): a source needs an entry point"
            )
        return found


def _check_source(path: str, index: int, table: Any) -> Source:
    if not isinstance(table, dict):
        raise SourceConfigError(f"{path}: source #{index + 1}: must be a table")
    c = _Checker(path, index, table)
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        raise c.fail(unknown[0], f"unknown key (known keys: {', '.join(sorted(KNOWN_KEYS))})")

    name = c.string("name", required=True)
    assert name is not None
    if not NAME_RE.fullmatch(name):
        raise c.fail("name", f"{name!r} must match [a-z0-9_-]+")

    entry_points = c.entry_points()
    start_urls = entry_points["start_urls"]
    all_entry_urls = [url for urls in entry_points.values() for url in urls]

    same_hosts = [h.lower() for h in c.string_list("same_hosts", may_be_empty=True) or []]
    allowed = c.string_list("allowed_domains")
    if allowed is None:
        allowed = sorted({urlsplit(u).hostname or "" for u in all_entry_urls} | set(same_hosts))
    for host in same_hosts:
        if not in_domains(f"http://{host}/", allowed):
            raise c.fail("same_hosts", f"host {host!r} is outside allowed_domains {allowed}")
    for key, urls in entry_points.items():
        for url in urls:
            if not in_domains(url, allowed):
                raise c.fail("allowed_domains", f"{key} URL {url!r} is outside {allowed}")

    article_pattern = c.regex("article_pattern", required=True)
    assert article_pattern is not None
    listing_pattern = c.regex("listing_pattern")

    schedule = c.string("schedule") or DEFAULT_SCHEDULE
    timezone = c.string("timezone") or DEFAULT_TIMEZONE
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise c.fail("timezone", f"unknown time zone {timezone!r}") from None
    try:
        cron_trigger(schedule, timezone)
    except ValueError as exc:
        raise c.fail("schedule", f"bad cron expression {schedule!r}: {exc}") from None

    encoding = c.string("encoding")
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except (LookupError, ValueError):  # ValueError: a name with a NUL byte
            raise c.fail("encoding", f"unknown encoding {encoding!r}") from None
        if charset_codec(encoding) is None:  # base64, rot13, undefined, idna...: known, but no page's charset
            raise c.fail("encoding", f"{encoding!r} is not a text encoding a page can be written in")

    max_pages = table.get("max_pages")
    if max_pages is not None and (
        not isinstance(max_pages, int) or isinstance(max_pages, bool) or not 1 <= max_pages <= MAX_PAGES
    ):
        raise c.fail("max_pages", f"must be a positive integer up to {MAX_PAGES}, got {max_pages!r}")

    max_minutes = table.get("max_minutes")
    if max_minutes is not None and (
        not isinstance(max_minutes, int | float)
        or isinstance(max_minutes, bool)
        or not math.isfinite(max_minutes)
        or not 0 < max_minutes <= MAX_MINUTES
    ):
        raise c.fail("max_minutes", f"must be a positive number up to {MAX_MINUTES}, got {max_minutes!r}")

    max_workers = table.get("max_workers", 1)
    if (
        not isinstance(max_workers, int)
        or isinstance(max_workers, bool)
        or not 1 <= max_workers <= MAX_WORKERS
    ):
        raise c.fail("max_workers", f"must be a whole number from 1 to {MAX_WORKERS}, got {max_workers!r}")

    stop_at_known = table.get("stop_at_known", True)
    if not isinstance(stop_at_known, bool):
        raise c.fail("stop_at_known", f"must be true or false, got {stop_at_known!r}")

    region = c.string("region")  # a place name; the facts stage resolves it (unresolved: said in its log)
    min_interval, max_interval = c.polling_bounds()

    return Source(
        region=region.strip() if region else None,
        max_minutes=max_minutes,
        stop_at_known=stop_at_known,
        feeds=tuple(entry_points["feeds"]),
        sitemaps=tuple(entry_points["sitemaps"]),
        same_hosts=tuple(same_hosts),
        name=name,
        title=c.string("title") or name,
        start_urls=tuple(start_urls),
        allowed_domains=tuple(allowed),
        article_pattern=article_pattern,
        listing_pattern=listing_pattern,
        schedule=schedule,
        timezone=timezone,
        encoding=encoding,
        max_pages=max_pages,
        max_workers=max_workers,
        min_interval=min_interval,
        max_interval=max_interval,
    )


def parse_sources(text: str, path: str = "<sources>") -> list[Source]:
    """Parse and validate the TOML text of a sources file."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SourceConfigError(f"{path}: malformed TOML: {exc}") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise SourceConfigError(f"{path}: malformed TOML: arrays or tables nested too deeply") from None
    unknown = sorted(set(doc) - {"source"})
    if unknown:
        raise SourceConfigError(
            f"{path}: key '{unknown[0]}': unknown top-level key (expected [[source]] tables)"
        )
    tables = doc.get("source", [])
    if not isinstance(tables, list):
        raise SourceConfigError(f"{path}: key 'source': must be an array of tables, written [[source]]")
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for index, table in enumerate(tables):
        source = _check_source(path, index, table)
        if source.name in seen:
            raise SourceConfigError(
                f"{path}: source {source.name!r}: key 'name': duplicate name "
                f"(sources #{seen[source.name] + 1} and #{index + 1})"
            )
        seen[source.name] = index
        sources.append(source)
    if not sources:
        raise SourceConfigError(f"{path}: no [[source]] tables")
    return sources


def load_sources(path: str | Path) -> list[Source]:
    """Read and validate a sources file; a missing or unreadable file is an error, never an empty list."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceConfigError(f"{p}: sources file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceConfigError(f"{p}: cannot read sources file: {exc}") from None
    return parse_sources(text, str(p))


def select(sources: list[Source], names: list[str] | tuple[str, ...], path: str = "sources") -> list[Source]:
    """The named sources, in the order asked; an unknown name is an error listing the known ones."""
    if not names:
        return sources
    by_name = {s.name: s for s in sources}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise SourceConfigError(
            f"{path}: no source named {missing[0]!r} (known: {', '.join(sorted(by_name))})"
        )
    return [by_name[n] for n in names]


def source_from_dict(table: dict[str, Any], path: str = "<crawl job>") -> Source:
    """A source from one table (as written by `Source.to_dict`), validated like a file's."""
    return _check_source(path, 0, table)
