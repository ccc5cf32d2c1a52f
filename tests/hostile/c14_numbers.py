"""Class 14, numbers: numeric flags given nan, infinities and overflowing floats; ids beyond the schema's
integers; days at the edges of the calendar; sources files whose numeric keys are not finite or not in
range. Argument inputs are command lines (split with shlex); sources inputs are whole files.
"""

from __future__ import annotations

from tests.hostile import Case

SOURCE = """[[source]]
name = "c14"
start_urls = ["http://127.0.0.1:9/c14/"]
article_pattern = "/c14/"
schedule = "0 2 * * *"
"""

NON_FINITE_FLAGS = (
    "crawl --all --timeout nan",
    "crawl --all --timeout inf",
    "crawl --all --timeout -inf",
    "crawl --all --timeout 1e309",
    "crawl --all --timeout 0",
    "daemon --time-limit nan",
    "daemon --time-limit 1e400",
    "daemon --grace inf",
    "daemon --grace 1e12",
    "search 结对 --limit nan",
    "search 结对 --limit 1e3",
)
IDS_BEYOND_THE_SCHEMA = (
    "show 2147483648",
    "show 99999999999999999999",
    "show 0",
    "show -- -1",
    "show nan",
    "runs show 9223372036854775808",
    "warc verify --run 18446744073709551616",
)
# The largest ids a row can have: looked up, and not found.
LARGEST_IDS = ("show 2147483647", "runs show 2147483647")
CALENDAR_EDGES = (
    "search 结对 --since 0001-01-01",
    "search 结对 --until 9999-12-31",
    "search 结对 --since 1899-12-31",
    "search 结对 --until 2201-01-01",
    "export --since 0001-01-01",
    "crawl --all --since 9999-12-31",
    "reprocess --since 0001-01-01",
)
# The calendar's edges that are in range: a search over them runs.
DAYS_IN_RANGE = ("search 结对 --all --since 1900-01-01 --until 2200-12-31",)
SOURCES_VALUES = {
    "max_minutes": ("nan", "inf", "-inf", "0", "-1", "1e9", "525601"),
    "max_pages": ("0", "-5", "1e3", "inf", "nan", "9223372036854775807", "10000001"),
}

CASES = [
    Case(
        klass=14,
        name="non-finite-or-out-of-range-flags",
        does="--timeout, --time-limit, --grace and --limit given nan, inf, 1e309 or out of range",
        inputs=NON_FINITE_FLAGS,
    ),
    Case(
        klass=14,
        name="ids-beyond-the-schema",
        does="ids of 2**31 and above, 0, negative and nan given to show, runs show and warc verify --run",
        inputs=IDS_BEYOND_THE_SCHEMA,
    ),
    Case(
        klass=14,
        name="largest-ids",
        does="the largest id the schema holds: a lookup that finds nothing",
        inputs=LARGEST_IDS,
    ),
    Case(
        klass=14,
        name="days-at-the-calendar-edges",
        does="--since and --until at years 1 and 9999 and just outside 1900..2200",
        inputs=CALENDAR_EDGES,
    ),
    Case(
        klass=14,
        name="days-in-range",
        does="--since 1900-01-01 and --until 2200-12-31, the edges that are allowed",
        inputs=DAYS_IN_RANGE,
    ),
    Case(
        klass=14,
        name="sources-file-numbers",
        does="max_minutes and max_pages not finite, not positive, not whole or beyond their caps",
        inputs=tuple(
            SOURCE + f"{key} = {value}\n" for key, values in SOURCES_VALUES.items() for value in values
        ),
    ),
]
