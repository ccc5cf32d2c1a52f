"""Click parameter types for the numbers, ids and days the commands take, bounded to what the storage,
the timers and the time zone arithmetic handle: a value outside is a usage error, never a traceback."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import click

# Primary keys are SQLAlchemy `Integer`: 32-bit on PostgreSQL (64-bit on SQLite), so no stored id is
# larger, and a larger one would be an overflow error from the driver rather than "no such id".
MAX_ID = 2**31 - 1

# Years the calendar arithmetic has room for: a day is shifted by a portal's time zone (up to 14 hours
# either way), and datetime stops at years 1 and 9999. No news portal predates 1900.
MIN_YEAR = 1900
MAX_YEAR = 2200

# Timers (a crawl's time limit, the daemon's grace) end up as seconds in an event loop or a subprocess
# wait; a year is more than any run needs and far below what those accept.
MAX_MINUTES = 525_600.0
MAX_SECONDS = 86_400.0


class FiniteFloat(click.FloatRange):
    """A float in a range, refusing nan and infinities (which compare false with every bound, so
    FloatRange alone lets nan through)."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return super().convert(number, param, ctx)


def minutes(*, min_open: bool = True) -> FiniteFloat:
    """A positive number of minutes, at most a year."""
    return FiniteFloat(min=0, max=MAX_MINUTES, min_open=min_open)


def seconds() -> FiniteFloat:
    """A number of seconds from 0 to a day."""
    return FiniteFloat(min=0, max=MAX_SECONDS)


class RecordId(click.IntRange):
    """The id of a stored row: a whole number from 1 to the schema's integer limit."""

    name = "integer"

    def __init__(self) -> None:
        super().__init__(min=1, max=MAX_ID)


class Day(click.DateTime):
    """A day written YYYY-MM-DD, between MIN_YEAR and MAX_YEAR (returned as a naive midnight datetime,
    as click.DateTime does)."""

    name = "day"

    def __init__(self) -> None:
        super().__init__(formats=["%Y-%m-%d"])

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        day: datetime = super().convert(value, param, ctx)
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            self.fail(f"{value!r} is outside the years {MIN_YEAR} to {MAX_YEAR}.", param, ctx)
        return day


class ListenAddress(click.ParamType):
    """HOST:PORT to listen on ([::1]:PORT for an IPv6 address); port 0 takes any free port."""

    name = "address"

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "HOST:PORT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        host, sep, port = str(value).rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        elif ":" in host:
            self.fail(f"{value!r}: write an IPv6 address in brackets, [::1]:9464.", param, ctx)
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            self.fail(f"{value!r} is not HOST:PORT with a port from 0 to 65535.", param, ctx)
        return host, int(port)


RECORD_ID = RecordId()
DAY = Day()
