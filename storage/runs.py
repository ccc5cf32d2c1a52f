"""Reads about crawl runs: the run list, one run with its rejections, and each source's standing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import CrawlRun, Rejection, Source
from storage.outcomes import RunStatus

NOT_OK = (RunStatus.FAILED, RunStatus.TIMEOUT, RunStatus.INTERRUPTED)


def list_runs(
    session: Session, *, source: str | None = None, failed: bool = False, limit: int = 20
) -> list[CrawlRun]:
    """The newest runs first; `failed`: only runs that did not end `ok` (failed, timeout, interrupted)."""
    stmt = select(CrawlRun).join(Source, Source.id == CrawlRun.source_id).order_by(CrawlRun.id.desc())
    if source:
        stmt = stmt.where(Source.name == source)
    if failed:
        stmt = stmt.where(CrawlRun.status.in_(NOT_OK))
    return list(session.scalars(stmt.limit(limit)).all())


def rejections_of(session: Session, run_id: int, limit: int = 50) -> tuple[dict[str, int], list[Rejection]]:
    """A run's rejections counted by reason, and the first `limit` of them."""
    counts = dict(
        session.execute(
            select(Rejection.reason, func.count())
            .where(Rejection.run_id == run_id)
            .group_by(Rejection.reason)
        ).all()
    )
    first = session.scalars(
        select(Rejection).where(Rejection.run_id == run_id).order_by(Rejection.id).limit(limit)
    ).all()
    return {str(k): int(v) for k, v in counts.items()}, list(first)


@dataclass
class Standing:
    source: str
    last_run: CrawlRun | None
    last_ok: datetime | None
    consecutive_failures: int  # runs since the last `ok` that did not end `ok`


def standing(session: Session, names: list[str], window: int = 50) -> dict[str, Standing]:
    """Per source: its last run, when it last ended ok, and how many runs in a row since then did not."""
    out: dict[str, Standing] = {}
    for name in names:
        runs = session.scalars(
            select(CrawlRun)
            .join(Source, Source.id == CrawlRun.source_id)
            .where(Source.name == name, CrawlRun.status != RunStatus.RUNNING)
            .order_by(CrawlRun.id.desc())
            .limit(window)
        ).all()
        latest = session.scalars(
            select(CrawlRun)
            .join(Source, Source.id == CrawlRun.source_id)
            .where(Source.name == name)
            .order_by(CrawlRun.id.desc())
            .limit(1)
        ).first()
        failures = 0
        for run in runs:
            if run.status == RunStatus.OK:
                break
            failures += 1
        last_ok = session.scalar(
            select(func.max(CrawlRun.finished_at))
            .join(Source, Source.id == CrawlRun.source_id)
            .where(Source.name == name, CrawlRun.status == RunStatus.OK)
        )
        out[name] = Standing(name, latest, last_ok, failures)
    return out
