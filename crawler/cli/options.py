"""Option bundles shared by several commands, defined once, and the output helpers they use."""

from __future__ import annotations

import contextlib
import csv
import functools
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.errors import PairchiveError, SourceConfigError, first_line
from storage.exports import spreadsheet_safe
from storage.redact import scrub

# Scrapy is imported only to judge a `-s` value, by the commands that take one: every command imports this
# module, and Scrapy (with Twisted) takes longer to load than a search takes to run.
if TYPE_CHECKING:
    from scrapy.settings import Settings

    from storage.db import Database

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


def json_option(help: str) -> Callable[[F], F]:
    """`--json` (the `as_json` flag): the command's data as JSON; `help` says what its JSON holds."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def log_format_option(f: F) -> F:
    return click.option(
        "--log-format",
        "log_format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        envvar="PAIRCHIVE_LOG_FORMAT",
        help="How the log on stderr looks: readable lines, or one JSON object per event (time, level, "
        "logger, event, message, and the event's source, run, status, counts, error) for a log "
        "collector (also $PAIRCHIVE_LOG_FORMAT).",
    )(f)


def redis_options(f: F) -> F:
    """--redis, --redis-prefix and --done-after: where a distributed crawl's workers meet (with_redis)."""
    f = click.option(
        "--done-after",
        type=click.FloatRange(0.5, 3600),
        metavar="SECONDS",
        help="A distributed run whose frontier stayed empty, its workers idle, this long is done (default 5).",
    )(f)
    f = click.option(
        "--redis-prefix",
        metavar="PREFIX",
        help="Start every Redis key with this (default pairchive; also $PAIRCHIVE_REDIS_PREFIX): one Redis "
        "for several archives.",
    )(f)
    return click.option(
        "--redis",
        "redis_url",
        metavar="URL",
        help="Crawl on workers (`pairchive worker`) that share this Redis, e.g. redis://127.0.0.1:6379/0 "
        "(also $PAIRCHIVE_REDIS); needs a PostgreSQL --db (docs/distributed.md).",
    )(f)


def with_redis(
    cfg: AppConfig, redis_url: str | None, prefix: str | None, done_after: float | None
) -> AppConfig:
    """`cfg` with the --redis options, which win over $PAIRCHIVE_REDIS and $PAIRCHIVE_REDIS_PREFIX."""
    from dataclasses import replace

    if redis_url:
        cfg = replace(cfg, redis_url=redis_url)
    if prefix:
        cfg = replace(cfg, redis_prefix=prefix)
    if done_after is not None:
        cfg = replace(cfg, done_after=done_after)
    return cfg


def set_option(what: str = "this crawl", example: str = "-s DOWNLOAD_DELAY=2") -> Callable[[F], F]:
    """`-s/--set KEY=VALUE` (the `overrides`, read with scrapy_overrides): one Scrapy setting for `what`."""
    return click.option(
        "-s",
        "--set",
        "overrides",
        multiple=True,
        metavar="KEY=VALUE",
        help=f"Override one Scrapy setting for {what}, e.g. {example} (repeatable).",
    )


def scrapy_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """`-s KEY=VALUE` options as Scrapy settings; pairchive's own settings are refused (they have flags),
    and so is a value Scrapy could not read as its setting's kind (a usage error before any crawl starts)."""
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
    for key, value in settings.items():
        if problem := setting_value_problem(key, value):
            raise SettingRefused(f"-s {key}={value!r}: {problem}")
    return settings


class SettingRefused(click.ClickException):
    """A `-s` value Scrapy could not read: one line and exit status 2, before any crawl starts (it would
    otherwise fail inside the crawl process, after the runs were started)."""

    exit_code = 2


def setting_value_problem(key: str, value: str) -> str | None:
    """Why Scrapy could not read `value` for setting `key`, judged by the kind of its default (a
    boolean, a number, a dict); None when it can, or when the setting has no default to judge by."""
    from scrapy.settings import BaseSettings, Settings

    default = _default_settings().get(key)
    try:
        trial = Settings({key: value})
        if isinstance(default, bool):
            trial.getbool(key)
        elif isinstance(default, int | float):
            # Scrapy reads some whole-number defaults as floats (DOWNLOAD_TIMEOUT): any finite number.
            if not math.isfinite(trial.getfloat(key)):
                return "a finite number is expected"
        elif isinstance(default, dict | BaseSettings) and not isinstance(json.loads(value), dict):
            return "a JSON object is expected"
    except (ValueError, TypeError):
        if isinstance(default, bool):
            return "true or false is expected"
        return (
            "a JSON object is expected"
            if isinstance(default, dict | BaseSettings)
            else "a number is expected"
        )
    return None


@functools.cache
def _default_settings() -> Settings:
    """Scrapy's defaults under pairchive's settings module: what a crawl runs with before `-s`."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    return settings


def app_config(db: str | None = None, sources: str | None = None, data_dir: str | None = None) -> AppConfig:
    return AppConfig.from_env().with_flags(db=db, sources=sources, data_dir=data_dir)


class ConfigError(click.ClickException):
    """A configuration error (a bad sources file, an unknown source): exit status 2, as for a usage
    error, so that cron or systemd can tell it from a failed run and a restart does not repeat it."""

    exit_code = 2


def operator_error(exc: Exception) -> click.ClickException | None:
    """The one-line error `exc` is for an operator who can act on it, or None (an error not expected)."""
    if isinstance(exc, SourceConfigError):
        return ConfigError(scrub(str(exc)))
    if isinstance(exc, PairchiveError):
        return click.ClickException(scrub(str(exc)))
    if isinstance(exc, click.ClickException):
        # a message may quote a flag's value, and --db may carry a password
        if (cleaned := scrub(exc.message)) != exc.message:
            vars(exc)["message"] = cleaned  # final to type checkers, a plain attribute at run time
        return exc
    # A SQLAlchemy error can come only from a command that loaded SQLAlchemy: looked up, not imported,
    # so that the commands without a database do not load it.
    sqlalchemy_errors = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_errors is not None and isinstance(exc, sqlalchemy_errors.SQLAlchemyError):
        return click.ClickException(f"database error: {first_line(exc)}")
    return None


class PairchiveGroup(click.Group):
    """Turns the errors an operator can act on into one-line messages instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            error = operator_error(exc)
            if error is None:
                raise
            if error is exc:
                raise
            raise error from None


@contextlib.contextmanager
def errors_as_json(log_format: str) -> Iterator[None]:
    """With --log-format json, an error that ends the command is a JSON log record on stderr too (event
    `command_failed`, or `crashed` for one not expected: exit status 70, its traceback in the record with
    --debug), so that every line a log collector reads there is an object; the exit status is the same."""
    if log_format != "json":
        yield
        return
    try:
        yield
    except (click.exceptions.Exit, click.exceptions.Abort):
        raise
    except Exception as exc:
        import logging

        from crawler.cli import EXIT_INTERNAL, PairchiveCLI
        from crawler.vocabulary.logformat import event

        log = logging.getLogger("pairchive")
        if (error := operator_error(exc)) is not None:
            message = error.format_message()
            log.error("%s", message, extra=event("command_failed", error=message))
            sys.exit(error.exit_code)
        message, debug = first_line(exc, with_type=True), PairchiveCLI.debug
        hint = "" if debug else " (run with --debug for the traceback)"
        log.critical(
            "Error: %s%s",
            message,
            hint,
            exc_info=exc if debug else None,
            extra=event("crashed", error=message),
        )
        sys.exit(EXIT_INTERNAL)


# Text from the archive came from the web. On a terminal a control character (ESC above all: colour,
# cursor moves, OSC titles and links, a cleared screen) would act instead of being read, so each one other
# than newline and tab is shown as a visible escape. JSON and CSV output keep the text as stored.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def archive_if_made(db_url: str) -> Database | None:
    """The archive opened for reading, or None (said in one line on stderr) when it is not made yet: the
    commands about the configured sources answer before the first crawl, showing them as never run."""
    from storage.db import open_for_reading
    from storage.errors import NoArchive

    try:
        return open_for_reading(db_url)
    except NoArchive as exc:
        click.echo(f"no archive yet ({exc}): the sources as configured, none has run", err=True)
        return None


def printable(value: Any) -> str:
    """`value` as text safe to print on a terminal: C0 and C1 controls but \\n and \\t as `\\x1b`-style escapes."""
    text = "" if value is None else str(value)
    return CONTROL_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def echo_text(message: Any = "", err: bool = False) -> None:
    """click.echo for text that holds anything from the archive: printed under the terminal rule."""
    click.echo(printable(message), err=err)


def write_csv(
    output: IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]], *, raw: bool = False
) -> None:
    """A header row, then `rows`, each cell made spreadsheet-safe unless `raw` (the values as stored)."""
    writer = csv.writer(output)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row if raw else [spreadsheet_safe(cell) for cell in row])


def raw_csv_option(f: F) -> F:
    return click.option(
        "--raw-csv",
        "raw_csv",
        is_flag=True,
        help="CSV cells exactly as stored. By default a cell starting with = + - @, a tab or a carriage "
        "return gets a leading ' so that a spreadsheet shows it rather than running it as a formula.",
    )(f)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], max_width: int = 60) -> str:
    """A plain text table; cells are cut to `max_width` display columns (CJK characters count two) and
    printable on a terminal."""

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

    cells = [[cut(printable(c)) for c in row] for row in rows]
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
    """A record for reading: its title over a rule, then `name: value` lines for the values it has
    (printed under the terminal rule)."""
    echo_text(title or untitled)
    click.echo("=" * min(80, max(min_rule, len(title) * 2)))
    for name, value in fields:
        if value not in (None, ""):
            echo_text(f"{name:>12}: {value}")
