"""Option bundles shared by several commands, defined once, and the output helpers they use."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from crawler.config import AppConfig
from crawler.errors import PairchiveError, SourceConfigError, first_line

F = TypeVar("F", bound=Callable[..., Any])


def db_option(f: F) -> F:
    return click.option(
        "--db",
        "db",
        metavar="URL",
        help="Database URL or SQLite file path (default: $PAIRCHIVE_DB or ./pairchive.db).",
    )(f)


def sources_option(f: F) -> F:
    return click.option(
        "--sources",
        "sources",
        metavar="FILE",
        type=click.Path(dir_okay=False),
        help="Sources file (default: $PAIRCHIVE_SOURCES or ./sources.toml).",
    )(f)


def data_dir_option(f: F) -> F:
    return click.option(
        "--data-dir",
        "data_dir",
        metavar="DIR",
        type=click.Path(file_okay=False),
        help="Where raw captures (WARC files, in DIR/warc) are kept (default: $PAIRCHIVE_DATA_DIR, else "
        "the SQLite file's directory, else ./pairchive-data).",
    )(f)


def scrapy_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """`-s KEY=VALUE` options as Scrapy settings; pairchive's own settings are refused (they have flags)."""
    settings: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="-s/--set")
        if key.strip().upper().startswith("PAIRCHIVE_"):
            # These are pairchive's own (the database above all): set them with their flags or variables.
            raise click.BadParameter(
                f"{key.strip()} is not a Scrapy setting; use --db", param_hint="-s/--set"
            )
        settings[key.strip()] = value
    return settings


def app_config(db: str | None = None, sources: str | None = None, data_dir: str | None = None) -> AppConfig:
    return AppConfig.from_env().with_flags(db=db, sources=sources, data_dir=data_dir)


class ConfigError(click.ClickException):
    """A configuration error (a bad sources file, an unknown source): exit status 2, as for a usage
    error, so that cron or systemd can tell it from a failed run and a restart does not repeat it."""

    exit_code = 2


class PairchiveGroup(click.Group):
    """Turns the errors an operator can act on into one-line messages instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SourceConfigError as exc:
            raise ConfigError(str(exc)) from None
        except PairchiveError as exc:
            raise click.ClickException(str(exc)) from None
        except SQLAlchemyError as exc:
            raise click.ClickException(f"database error: {first_line(exc)}") from None


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], max_width: int = 60) -> str:
    """A plain text table; cells are cut to `max_width` display columns (CJK characters count two)."""

    def width(s: str) -> int:
        return sum(2 if ord(ch) > 0x2E7F else 1 for ch in s)

    def cut(s: str) -> str:
        if width(s) <= max_width:
            return s
        out, w = "", 0
        for ch in s:
            w += width(ch)
            if w > max_width - 1:
                break
            out += ch
        return out + "…"

    cells = [[cut("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max([width(h)] + [width(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v + " " * (widths[i] - width(v)) for i, v in enumerate(values)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def terms_text(terms: Sequence[dict[str, Any]], most: int = 8) -> str:
    """The relevance evidence as `for: term x3 +1.20, ...; against: ...` (the trained gate's), or as
    `termxcount, ...` for stories judged by the term list before it."""
    if not any(t.get("category") in ("for", "against") for t in terms):
        return ", ".join(f"{t['term']}x{t['count']}" for t in terms[:most])
    sides = []
    for side in ("for", "against"):
        items = [t for t in terms if t.get("category") == side][: max(1, most // 2)]
        if items:
            sides.append(
                f"{side}: " + ", ".join(f"{t['term']} x{t['count']} {t['weight']:+.2f}" for t in items)
            )
    return "; ".join(sides)


def echo_record(title: str, fields: Sequence[tuple[str, Any]], min_rule: int = 0, untitled: str = "") -> None:
    """A record for reading: its title over a rule, then `name: value` lines for the values it has."""
    click.echo(title or untitled)
    click.echo("=" * min(80, max(min_rule, len(title) * 2)))
    for name, value in fields:
        if value not in (None, ""):
            click.echo(f"{name:>12}: {value}")
