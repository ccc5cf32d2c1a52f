"""Reads about crawl runs: the run list, one run with its rejections, each source's standing and its
health history; and the one write of them, an operator accepting a degraded run as its source's new normal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.errors import StorageError
from storage.health import HISTORY_RUNS, MIN_PAGES, Verdict, judge
from storage.models import CrawlRun, Rejection, Source
from storage.outcomes import COMPLETED, ENDED_EARLY, RunStatus

# Runs that did not end by themselves. A degraded run did (its health is judged, not its end).
NOT_OK = tuple(sorted(ENDED_EARLY))


def list_runs(
    session: Session,
    *,
    source: str | None = None,
    failed: bool = False,
    degraded: bool = False,
    limit: int = 20,
) -> list[CrawlRun]:
    """The newest runs first; `failed`: only runs that did not end by themselves (failed, timeout,
    interrupted); `degraded`: only degraded runs (both: either)."""
    stmt = select(CrawlRun).join(Source, Source.id == CrawlRun.source_id).order_by(CrawlRun.id.desc())
    if source:
        stmt = stmt.where(Source.name == source)
    wanted = [*(NOT_OK if failed else ()), *((RunStatus.DEGRADED,) if degraded else ())]
    if wanted:
        stmt = stmt.where(CrawlRun.status.in_(wanted))
    return list(session.scalars(stmt.limit(limit)).all())


# The mark of a degraded run an operator accepted as its source's new normal (`pairchive runs accept`).
ACCEPTED = "accepted"


def health_history(session: Session, source_id: int, before: int | None = None) -> list[dict[str, Any]]:
    """The healths of a source's ok runs (before run `before`, when given), newest first, as many as a
    verdict reads (runs too small to judge by are left out here, so they do not crowd out the ones it needs)."""
    stmt = select(CrawlRun.health).where(
        CrawlRun.source_id == source_id, CrawlRun.status == RunStatus.OK, CrawlRun.health.is_not(None)
    )
    if before is not None:
        stmt = stmt.where(CrawlRun.id < before)
    healths = session.scalars(stmt.order_by(CrawlRun.id.desc()).limit(HISTORY_RUNS * 5)).all()
    return [h for h in _since_accepted(healths) if int(h.get("pages") or 0) >= MIN_PAGES][:HISTORY_RUNS]


def _since_accepted(healths: Sequence[dict[str, Any] | None]) -> list[dict[str, Any]]:
    """Healths newest first, up to the oldest of the newest accepted runs (`accept_degraded`): the runs
    before a source's new normal are not its baseline any more."""
    out: list[dict[str, Any]] = []
    in_accepted = False
    for health in healths:
        if not health:
            continue
        if in_accepted and not health.get(ACCEPTED):
            break
        in_accepted = in_accepted or bool(health.get(ACCEPTED))
        out.append(health)
    return out


def accept_degraded(session: Session, run_id: int) -> list[CrawlRun]:
    """Take a degraded run as its source's new normal (a portal that changed for good: bylines dropped,
    shorter stories): it and the degraded runs of its source since its last ok run become `ok`, their
    health marked accepted, and later runs are judged against them and the ok runs after them alone.
    The runs accepted, oldest first; StorageError when the run is not a degraded one."""
    run = session.get(CrawlRun, run_id)
    if run is None:
        raise StorageError(f"no run with id {run_id}")
    if run.status != RunStatus.DEGRADED:
        raise StorageError(f"run {run_id} is {run.status}, not degraded: only a degraded run can be accepted")
    last_ok = session.scalar(
        select(func.max(CrawlRun.id)).where(
            CrawlRun.source_id == run.source_id, CrawlRun.status == RunStatus.OK, CrawlRun.id < run_id
        )
    )
    stmt = select(CrawlRun).where(
        CrawlRun.source_id == run.source_id, CrawlRun.status == RunStatus.DEGRADED, CrawlRun.id <= run_id
    )
    if last_ok is not None:
        stmt = stmt.where(CrawlRun.id > last_ok)
    accepted = list(session.scalars(stmt.order_by(CrawlRun.id)).all())
    for each in accepted:
        each.status = RunStatus.OK
        each.health = {**(each.health or {}), ACCEPTED: True}
    return accepted


def judge_run(session: Session, run_id: int, health: dict[str, Any]) -> tuple[dict[str, Any], Verdict]:
    """A run's health with the verdict against its source's history (read in the caller's session)."""
    run = session.get_one(CrawlRun, run_id)
    verdict = judge(health, health_history(session, run.source_id, before=run_id))
    return {**health, **verdict.fields()}, verdict


def judge_against_history(session: Session, source: str, health: dict[str, Any]) -> Verdict:
    """The verdict on a health counted outside a run (`sources check --against-history`) against the
    named source's ok runs; no history when the archive does not know the source."""
    source_id = session.scalar(select(Source.id).where(Source.name == source))
    return judge(health, health_history(session, source_id) if source_id is not None else [])


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
    consecutive_failures: int  # the newest runs in a row that failed, timed out or were interrupted
    consecutive_degraded: int = 0  # completed runs since the last `ok` that ended degraded
    last_verdict: str | None = None  # the newest completed run's verdict line


def standing(session: Session, names: list[str], window: int = 50) -> dict[str, Standing]:
    """Per source: its last run, when it last ended ok, how many of its newest runs in a row did not end
    by themselves, how many completed runs since its last ok one were degraded, and the newest verdict."""
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
        failures, degraded = _in_a_row(runs)
        verdict = next(
            (r.health.get("verdict_line") for r in runs if r.status in COMPLETED and r.health), None
        )
        last_ok = session.scalar(
            select(func.max(CrawlRun.finished_at))
            .join(Source, Source.id == CrawlRun.source_id)
            .where(Source.name == name, CrawlRun.status == RunStatus.OK)
        )
        out[name] = Standing(name, latest, last_ok, failures, degraded, verdict)
    return out


def _in_a_row(runs: Sequence[CrawlRun]) -> tuple[int, int]:
    """(failures, degraded) over runs newest first: the runs before the newest completed one (all of them
    failed, timed out or were interrupted), and the degraded ones among the completed runs since the
    last ok run (a failed run between says nothing of how pages extract)."""
    failures = degraded = 0
    for run in runs:
        if run.status in COMPLETED:
            break
        failures += 1
    for run in runs:
        if run.status == RunStatus.OK:
            break
        degraded += run.status == RunStatus.DEGRADED
    return failures, degraded
