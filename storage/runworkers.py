"""The workers of a distributed crawl run (`run_workers`): who took part, how each part ended, and the
run's counts and health counts summed over them.

A worker joins a run when it takes the run's ticket and finishes when its crawl of the run ends; the
coordinator, the one owner of the run's life, reads the rows back and writes the run's own record from
their sums. Joining twice is harmless (a worker that took a second ticket of the run), and a worker that
died before its join was written still gets a row when it is finished, so no part goes unrecorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.archive import _insert
from storage.models import RunWorker, utcnow
from storage.redact import scrub

# The one health count that is a list (each text's length): merged by joining, the others by adding.
LENGTHS = "lengths"


def join_run(session: Session, run_id: int, worker: str) -> None:
    """Record that `worker` takes part in run `run_id`; nothing changes if it already does."""
    session.execute(
        _insert(session, RunWorker)
        .values(run_id=run_id, worker=worker, joined_at=utcnow(), counts={})
        .on_conflict_do_nothing(index_elements=["run_id", "worker"])
    )


def finish_worker(
    session: Session,
    run_id: int,
    worker: str,
    *,
    status: str,
    counts: Mapping[str, int],
    health_counts: Mapping[str, Any] | None,
    error: str | None,
) -> None:
    """Record how `worker`'s part in run `run_id` ended (a WORKER_STATUSES), with what it counted; its row
    is made first if its join was never written."""
    join_run(session, run_id, worker)
    session.execute(
        update(RunWorker)
        .where(RunWorker.run_id == run_id, RunWorker.worker == worker)
        .values(
            finished_at=utcnow(),
            status=status,
            counts=dict(counts),
            health_counts=dict(health_counts) if health_counts is not None else None,
            error=scrub(error) if error else error,  # a driver's error may echo the database URL
        )
    )


def workers_of(session: Session, run_id: int) -> list[RunWorker]:
    """The run's workers in the order they joined; empty for a single-machine run."""
    return list(
        session.scalars(
            select(RunWorker).where(RunWorker.run_id == run_id).order_by(RunWorker.joined_at, RunWorker.id)
        ).all()
    )


def summed_counts(rows: Iterable[RunWorker]) -> dict[str, int]:
    """Each count summed over the workers (a count one worker lacks is 0 there)."""
    total: dict[str, int] = {}
    for row in rows:
        for key, value in (row.counts or {}).items():
            total[key] = total.get(key, 0) + int(value)
    return total


def merged_health_counts(rows: Iterable[RunWorker]) -> dict[str, Any] | None:
    """The workers' raw health counts as one run's (the counts summed, the text lengths joined), ready for
    storage.health.health_of; None when no worker counted any."""
    merged: dict[str, Any] | None = None
    for row in rows:
        if row.health_counts is None:
            continue
        merged = merged if merged is not None else {}
        for key, value in row.health_counts.items():
            if key == LENGTHS:
                merged[key] = [*merged.get(key, []), *value]
            else:
                merged[key] = merged.get(key, 0) + value
    return merged
