"""`pairchive runs`, `pairchive status` and `pairchive daemon`: what the crawls did, and the daemon itself."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from crawler.cli.crawl import COUNT_COLUMNS
from crawler.cli.options import (
    app_config,
    archive_if_made,
    data_dir_option,
    db_option,
    echo_record,
    echo_text,
    errors_as_json,
    json_option,
    log_format_option,
    redis_options,
    scrapy_overrides,
    set_option,
    sources_option,
    table,
    with_redis,
)
from crawler.cli.types import RECORD_ID, ListenAddress, minutes, seconds
from crawler.vocabulary.config import DEFAULT_TIME_LIMIT_MINUTES
from crawler.vocabulary.polling import planned_visit
from crawler.vocabulary.sources import cron_trigger, load_sources
from storage.db import open_for_reading
from storage.health import describe
from storage.leases import holders
from storage.models import CrawlRun, RunWorker
from storage.outcomes import RunStatus
from storage.redact import scrub
from storage.runs import Standing, list_runs, rejections_of, standing
from storage.runworkers import workers_of

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"


def _duration(run: CrawlRun) -> str:
    if run.finished_at is None:
        return "running"
    seconds = (run.finished_at - run.started_at).total_seconds()
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.0f}m"


def _run_dict(run: CrawlRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "source": run.source.name,
        "trigger": run.trigger,
        "status": run.status,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "exit_code": run.exit_code,
        "counts": dict(run.counts or {}),
        "error": run.error,
        "health": run.health,  # storage.health: extraction health and the drift verdict, or null
    }


def _worker_dict(row: RunWorker) -> dict[str, Any]:
    return {
        "worker": row.worker,
        "joined_at": row.joined_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "status": row.status,  # null while its part is not over
        "counts": dict(row.counts or {}),
        "error": row.error,
    }


def _worker_row(row: RunWorker) -> list[Any]:
    """One worker's line of `runs show`."""
    counts = row.counts or {}
    return [
        row.worker,
        _when(row.joined_at),
        _when(row.finished_at),
        row.status or "running",
        counts.get("fetched", 0),
        counts.get("stored", 0),
        row.error.splitlines()[0] if row.error else "",
    ]


def _health_lines(health: dict[str, Any] | None) -> list[tuple[str, Any]]:
    """A run's health as rows of `runs show`: its pages and shares, and the verdict."""
    if not health:
        return [("health", "not counted")]
    return [("health", describe(health)), ("verdict", health.get("verdict_line") or "-")]


@click.group("runs", invoke_without_command=True)
@click.option("--source", metavar="NAME", help="Only this source's runs.")
@click.option("--failed", is_flag=True, help="Only runs that did not end ok (failed, timeout, interrupted).")
@click.option(
    "--degraded",
    is_flag=True,
    help="Only degraded runs: ended, but their pages' extraction drifted from the source's history.",
)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100_000), help="Most runs.")
@json_option("One JSON object per run, one per line.")
@db_option
@click.pass_context
def runs_group(
    ctx: click.Context,
    source: str | None,
    failed: bool,
    degraded: bool,
    limit: int,
    as_json: bool,
    db: str | None,
) -> None:
    """Crawl runs, newest first: trigger, status, start, duration, counts by outcome, error.

    `pairchive runs show ID` prints one run whole, with its rejected pages.

    Example: pairchive runs --failed --limit 10
    """
    if ctx.invoked_subcommand is not None:
        return
    sessions = open_for_reading(app_config(db).db_url).sessions
    with sessions() as session:
        found = list_runs(session, source=source, failed=failed, degraded=degraded, limit=limit)
        if as_json:
            for run in found:
                click.echo(json.dumps(_run_dict(run), ensure_ascii=False))
            return
        if not found:
            click.echo("no runs recorded", err=True)
            return
        rows = [
            [
                r.id,
                r.source.name,
                r.trigger,
                r.status,
                _when(r.started_at),
                _duration(r),
                *((r.counts or {}).get(c, 0) for c in COUNT_COLUMNS),
                _note(r),
            ]
            for r in found
        ]
    click.echo(
        table(["run", "source", "trigger", "status", "started", "took", *COUNT_COLUMNS, "error"], rows)
    )


def _note(run: CrawlRun) -> str:
    """The list's last column: the run's error, or for a degraded run the verdict's line."""
    if run.error:
        return run.error.splitlines()[0]
    if run.status == RunStatus.DEGRADED and run.health:
        return str(run.health.get("verdict_line") or "")
    return ""


@runs_group.command("accept")
@click.argument("run_id", type=RECORD_ID)
@db_option
def runs_accept(run_id: int, db: str | None) -> None:
    """Accept a degraded run as its source's new normal: a portal that changed for good, not broken.

    The run and its source's degraded runs since its last ok one become ok, their health marked accepted;
    later runs are judged against them and the ok runs after them (no verdict until there are 3).

    Example: pairchive runs accept 12
    """
    from storage.db import open_for_writing
    from storage.errors import StorageError
    from storage.runs import accept_degraded

    sessions = open_for_writing(app_config(db).db_url).sessions
    try:
        with sessions.begin() as session:
            accepted = accept_degraded(session, run_id)
            ids = ", ".join(str(r.id) for r in accepted)
            source = accepted[-1].source.name
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"accepted run{'s' if len(accepted) > 1 else ''} {ids} of {source}: the source's new normal")


@runs_group.command("show")
@click.argument("run_id", type=RECORD_ID)
@click.option(
    "--limit", default=50, show_default=True, type=click.IntRange(0, 100_000), help="Most rejections."
)
@json_option("The run and its rejections as JSON.")
@db_option
def runs_show(run_id: int, limit: int, as_json: bool, db: str | None) -> None:
    """One run: when, why, how it ended, counts by outcome, its pages' extraction health and the drift
    verdict on it, the workers of a distributed run (each one's part: joined, finished, how it ended, its
    counts), and the pages it did not store with why.

    Example: pairchive runs show 12
    """
    sessions = open_for_reading(app_config(db).db_url).sessions
    with sessions() as session:
        run = session.get(CrawlRun, run_id)
        if run is None:
            raise click.ClickException(f"no run with id {run_id}")
        by_reason, first = rejections_of(session, run_id, limit)
        record = _run_dict(run)
        # Only a distributed run has workers; a single-machine run's record stays as it always was.
        workers = workers_of(session, run_id)
        if workers:
            record["workers"] = [_worker_dict(w) for w in workers]
        worker_rows = [_worker_row(w) for w in workers]
        rejected = [
            {
                "reason": r.reason,
                # a page's URL may carry a password (http://user:secret@host/), and its error repeat it
                "url": scrub(r.url),
                "detail": scrub(r.detail) if r.detail else r.detail,
                "title": r.title,
                "capture_id": r.capture_id,
            }
            for r in first
        ]
    if as_json:
        click.echo(json.dumps({**record, "rejections": rejected}, ensure_ascii=False, indent=2))
        return
    counts = ", ".join(f"{k} {v}" for k, v in sorted(record["counts"].items())) or "-"
    echo_record(
        f"run {run_id} of {record['source']}",
        [
            ("trigger", record["trigger"]),
            ("status", record["status"]),
            ("started", record["started_at"]),
            ("finished", record["finished_at"] or "still running"),
            ("exit code", record["exit_code"]),
            ("counts", counts),
            ("error", record["error"]),
            *_health_lines(record["health"]),
        ],
    )
    if worker_rows:
        headers = ["worker", "joined", "finished", "status", "fetched", "stored", "error"]
        click.echo(f"\nWorkers ({len(worker_rows)}):")
        for line in table(headers, worker_rows).splitlines():
            click.echo(f"  {line}")
    if by_reason:
        click.echo(f"\nRejected pages ({', '.join(f'{k} {v}' for k, v in sorted(by_reason.items()))}):")
        for r in rejected:
            echo_text(f"  {r['reason']:<18} {r['url']}  {r['detail']}")
        shown, total = len(rejected), sum(by_reason.values())
        if shown < total:
            click.echo(f"  ... {total - shown} more (--limit)")


@click.command("status")
@sources_option
@db_option
@json_option("One JSON object per source, one per line.")
def status(sources: str | None, db: str | None, as_json: bool) -> None:
    """Each configured source at a glance: its next visit and why, its last run and how it ended, the runs
    in a row that failed, the degraded runs since its last ok one, the newest drift verdict, and who is
    crawling it now.

    The next run is the source's next visit and why: its schedule, or, for a source with min_interval and
    max_interval, the first cron time its last visits make due and what they found.

    Example: pairchive status --sources prod.toml
    """
    cfg = app_config(db, sources)
    configured = load_sources(cfg.sources_path)
    now = datetime.now(UTC)
    names = [s.name for s in configured]
    archive = archive_if_made(cfg.db_url)  # a new deployment: its schedule is worth seeing before a crawl
    session: Session | None = archive.sessions() if archive else None
    with session or nullcontext():  # open while the rows are made: a run's source loads on demand
        if session is None:
            stand, held = {name: Standing(name, None, None, 0) for name in names}, {}
        else:
            stand, held = standing(session, names), holders(session)
        rows, records = [], []
        for source in configured:
            s = stand[source.name]
            nxt = cron_trigger(source.schedule, source.timezone).get_next_fire_time(None, now)
            visit = planned_visit(session, source, now)
            last = s.last_run
            lease = held.get(source.name)
            crawling = ""
            if lease is not None:
                crawling = (
                    f"{lease.owner} (run {lease.run_id})" if lease.expires_at > now else "expired lease"
                )
            records.append(
                {
                    "source": source.name,
                    "schedule": f"{source.schedule} {source.timezone}",
                    "next_run": nxt.astimezone(UTC).isoformat() if nxt else None,
                    "next_visit": visit.next_visit.astimezone(UTC).isoformat() if visit.next_visit else None,
                    "interval_seconds": round(visit.interval.total_seconds()) if visit.interval else None,
                    "why": visit.why,
                    "last_run": _run_dict(last) if last else None,
                    "last_ok": s.last_ok.isoformat() if s.last_ok else None,
                    "consecutive_failures": s.consecutive_failures,
                    "consecutive_degraded": s.consecutive_degraded,
                    "last_verdict": s.last_verdict,
                    "crawling_now": crawling or None,
                }
            )
            rows.append(
                [
                    source.name,
                    _when(visit.next_visit),
                    visit.why,
                    f"{last.id} {last.status} {_when(last.started_at)}" if last else "never",
                    (last.counts or {}).get("stored", 0) if last else "-",
                    s.consecutive_failures,
                    s.consecutive_degraded,
                    s.last_verdict or "-",
                    crawling or "-",
                ]
            )
    if as_json:
        for record in records:
            click.echo(json.dumps(record, ensure_ascii=False))
        return
    headers = ["source", "next visit", "why", "last run", "stored", "failures in a row", "degraded in a row"]
    click.echo(table([*headers, "last verdict", "crawling now"], rows))


@click.command("daemon")
@sources_option
@db_option
@data_dir_option
@click.option(
    "--max-concurrent",
    default=None,
    type=click.IntRange(1, 1000),
    help="Crawls running at once, across all sources (default 2); with --redis, runs dispatched to the "
    "workers at once (default 100).",
)
@click.option(
    "--time-limit",
    default=DEFAULT_TIME_LIMIT_MINUTES,
    show_default=True,
    type=minutes(),
    metavar="MINUTES",
    help="End a crawl running longer than this (recorded as timeout).",
)
@click.option(
    "--grace",
    default=60.0,
    show_default=True,
    type=seconds(),
    metavar="SECONDS",
    help="At SIGTERM or SIGINT, how long running crawls may go on before they are stopped.",
)
@click.option(
    "--now",
    "run_now",
    is_flag=True,
    help="Also run every source once at start (whatever its adaptive polling says).",
)
@click.option(
    "--metrics",
    "metrics_address",
    type=ListenAddress(),
    help="Serve Prometheus metrics at http://HOST:PORT/metrics (e.g. 127.0.0.1:9464; port 0: any free port).",
)
@redis_options
@log_format_option
@set_option("every crawl")
def daemon(
    sources: str | None,
    db: str | None,
    data_dir: str | None,
    max_concurrent: int | None,
    time_limit: float,
    grace: float,
    run_now: bool,
    metrics_address: tuple[str, int] | None,
    redis_url: str | None,
    redis_prefix: str | None,
    done_after: float | None,
    log_format: str,
    overrides: tuple[str, ...],
) -> None:
    """Run every source on its schedule until stopped (SIGTERM or SIGINT; SIGHUP reloads the sources).

    One cron job per source (its `schedule`, in its `timezone`), each crawl a subprocess holding the
    source's lease, at most --max-concurrent at once. Logs go to stderr, one line per event (--log-format
    json: one JSON object each); every run is a record (`pairchive runs`, `pairchive status`). --metrics
    serves Prometheus metrics. Under systemd (NOTIFY_SOCKET) it says when it is ready, reloading and
    stopping, and beats its watchdog. See docs/deploy.md for a systemd unit and a scrape configuration.
    With --redis it is the coordinator of distributed crawls: each run is dispatched to `pairchive worker`
    processes on any number of machines (docs/distributed.md).

    Example: pairchive daemon --sources /etc/pairchive/sources.toml --db postgresql+psycopg://pairchive@db/pairchive
    """
    import scheduler
    from crawler.vocabulary.logformat import configure

    configure(log_format)
    with errors_as_json(log_format):
        cfg = with_redis(app_config(db, sources, data_dir), redis_url, redis_prefix, done_after)
        if max_concurrent is None:
            max_concurrent = scheduler.MAX_DISPATCHED if cfg.redis_url else scheduler.MAX_CONCURRENT
        status = scheduler.serve(
            cfg,
            max_concurrent=max_concurrent,
            time_limit=time_limit,
            grace=grace,
            run_now=run_now,
            settings=scrapy_overrides(overrides) or None,
            metrics_address=metrics_address,
        )
    sys.exit(status)
