"""The `pairchive` command: one click group; each command is a thin shell over crawler/ and storage/.

The commands are registered by name and imported when used (crawler.cli.lazy says why): `pairchive search`
loads what a search needs and nothing of the crawl (Scrapy, Twisted, trafilatura, numpy).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from crawler import __version__
from crawler.cli.lazy import LazyCommand, LazyCommands, LazyGroup
from crawler.cli.options import PairchiveGroup
from crawler.vocabulary.errors import first_line

# Every command: where it lives, and its help's first sentence as `pairchive --help` lists it (a test checks
# that each is the command's own).
COMMANDS = {
    "crawl": LazyCommand(
        "crawler.cli.crawl:crawl",
        "Crawl portals now, one after the other, and store the pairing stories found.",
    ),
    "search": LazyCommand("crawler.cli.archive:search", "Find stored stories."),
    "show": LazyCommand(
        "crawler.cli.archive:show", "Print one stored story with where and when it was fetched."
    ),
    "stories": LazyCommand(
        "crawler.cli.archive:stories_command",
        "List stories (an event with all its copies), newest first, with where each was seen.",
    ),
    "pairings": LazyCommand(
        "crawler.cli.pairings:pairings",
        "Who pairs with whom: the relations the stored stories report (places, schools, kinds), newest first.",
    ),
    "map": LazyCommand(
        "crawler.cli.map:map_command",
        "Draw who pairs with whom as a map: places as points at their coordinates (sized by their relations, "
        "named in Chinese), relations as lines between them (as wide as the schools they join, coloured by "
        "kind); offline, no boundaries.",
    ),
    "export": LazyCommand(
        "crawler.cli.archive:export",
        "Write every stored story with its provenance, streaming (constant memory): URL, source, fetched "
        "at, HTTP status, charset, content hash, story and sightings.",
    ),
    "demo": LazyCommand(
        "crawler.cli.demo:demo",
        "Serve the sample portals on 127.0.0.1, crawl them into a fresh SQLite file, show what was stored.",
    ),
    "extract": LazyCommand(
        "crawler.cli.extract:extract",
        "Run extract, clean, language, relevance and identity on one saved page (any charset; - for "
        "stdin) and print what a crawl would store.",
    ),
    "sources": LazyCommand(
        "crawler.cli.sources:sources",
        "Configured portals: list them with their last run, or check a new one before it runs.",
    ),
    "db": LazyCommand(
        "crawler.cli.db:db_group",
        "The archive database's schema (Alembic migrations).",
    ),
    "warc": LazyCommand(
        "crawler.cli.warc:warc_group",
        "The raw captures: every fetched article page's request and response, in WARC files.",
    ),
    "reprocess": LazyCommand(
        "crawler.cli.reprocess:reprocess_command",
        "Run today's extraction and relevance gate again over the raw captures (WARC) of every page "
        "earlier crawls read, stored or rejected, and report what would change: rejected pages that now "
        "pass the gate (new stories, through dedup as a crawl would store them), stored stories the gate "
        "now rejects (flagged, never deleted), texts that extract differently (a new revision, made by "
        "reprocess).",
    ),
    "runs": LazyCommand(
        "crawler.cli.runs:runs_group",
        "Crawl runs, newest first: trigger, status, start, duration, counts by outcome, error.",
    ),
    "serve": LazyCommand(
        "crawler.cli.serve:serve",
        "Serve the reading room: search, stories with their provenance and raw captures, sources, a "
        "timeline, exports, and the same as JSON under /api/.",
    ),
    "status": LazyCommand(
        "crawler.cli.runs:status",
        "Each configured source at a glance: its next visit and why, its last run and how it ended, the "
        "runs in a row that failed, the degraded runs since its last ok one, the newest drift verdict, and "
        "who is crawling it now.",
    ),
    "daemon": LazyCommand(
        "crawler.cli.runs:daemon",
        "Run every source on its schedule until stopped (SIGTERM or SIGINT; SIGHUP reloads the sources).",
    ),
    "worker": LazyCommand(
        "crawler.cli.worker:worker",
        "Crawl runs a coordinating daemon dispatches through Redis, with any number of workers on other "
        "machines, until stopped (SIGTERM or SIGINT).",
    ),
}

# Exit status of an error pairchive did not expect (a bug): EX_SOFTWARE of sysexits.h, distinct from 1 (a
# failed run, an error of the command) and 2 (a usage or configuration error).
EXIT_INTERNAL = 70

# Writing the output failed for want of room: one line and exit status 1, as for any failed command.
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EBADF}


class ClosedStdout(io.TextIOBase):
    """Stands for a stdout that was closed before pairchive started (Python makes it None): a command
    that writes output fails with one line, one that writes none is not disturbed."""

    def writable(self) -> bool:
        return True

    def write(self, _text: str) -> int:
        raise OSError(errno.EBADF, "stdout is closed")


def _debug_from_env() -> bool:
    return os.environ.get("PAIRCHIVE_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def _undecodable(arg: str) -> bool:
    """An argument holding bytes that were not UTF-8 (Python hands them over as lone surrogates)."""
    try:
        arg.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush of a closed pipe or a full device
    does not print a traceback of its own at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real stdout (closed, or captured by a test)
        pass


def _say(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):  # stderr gone too: the exit status still tells
        click.echo(message, err=True)


class PairchiveCLI(LazyGroup, PairchiveGroup):
    """The top-level group: refuses arguments that are not text, and turns an unexpected exception into
    one line and exit status 70 (`--debug` or PAIRCHIVE_DEBUG=1 shows the traceback instead)."""

    debug = False

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for arg in args:
            if _undecodable(arg):
                shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                raise click.UsageError(f"argument {shown!r} is not valid UTF-8 text", ctx)
        return super().parse_args(ctx, args)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        type(self).debug = _debug_from_env()
        if sys.stdout is None:
            sys.stdout = ClosedStdout()
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            try:
                return super().main(args, prog_name, complete_var, standalone_mode, **extra)
            finally:
                # Output still buffered is written now, where a failure can be reported, not at exit.
                sys.stdout.flush()
        except Exception as exc:
            if type(self).debug:
                raise
            self._fail(exc)

    def _fail(self, exc: Exception) -> None:
        if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
            # the reader went away (`pairchive export | head`): stop quietly, as click does
            _silence_stdout()
            sys.exit(1)
        if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
            _silence_stdout()
            _say(f"Error: cannot write {exc.filename or 'the output'}: {exc.strerror or first_line(exc)}")
            sys.exit(1)
        _say(f"Error: {first_line(exc, with_type=True)} (run with --debug for the traceback)")
        sys.exit(EXIT_INTERNAL)


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        PairchiveCLI.debug = True


@click.group(
    cls=PairchiveCLI,
    commands=LazyCommands(COMMANDS),
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="pairchive")
@click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_debug,
    help="Show the traceback of an unexpected error (also PAIRCHIVE_DEBUG=1) instead of one line and "
    "exit status 70.",
)
def main() -> None:
    """pairchive: scheduled scraping and archiving of news about school pairing.

    \b
    Everyday commands:
      pairchive sources list                the configured portals and their last runs
      pairchive sources check huli-edu      a dry run of one portal's patterns
      pairchive crawl --source huli-edu     crawl one portal now (--all: every portal in turn)
      pairchive status                      each portal: next run, last run, failures in a row
      pairchive runs --failed               what the crawl runs did, newest first
      pairchive daemon                      run every portal on its schedule
      pairchive search 结对                  find stored stories
      pairchive show 12                     read one story with its provenance and sightings
      pairchive stories --multi             stories seen on more than one portal
      pairchive pairings --place 湖里区     who pairs with whom, read from the stories
      pairchive map -o map.png              the same as a map: places, and lines between them
      pairchive export --format jsonl       every stored story, one JSON object per line
      pairchive show 12 --raw               the page's bytes as fetched (from its WARC record)
      pairchive warc verify                 check every raw capture's pointer and digest
      pairchive reprocess --apply           today's extraction and gate over every raw capture
      pairchive extract page.html           what a crawl would store from one saved page
      pairchive demo                        the whole pipeline on the bundled sample portals
    """
