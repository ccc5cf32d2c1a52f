"""A distributed run's record, closed from its workers' parts (`run_workers`) by its coordinator.

The run's counts are its parts' counts summed, then recounted from the rows the run left (stored, revised,
each rejection reason, captures), as a single-machine run's are; its extraction health is computed from
its parts' raw counts merged (exactly what one crawl of all its pages would have counted) and judged
against its source's history; its error line says what went wrong in any part.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Set

from sqlalchemy.orm import Session

from crawler.runner.crawl import Ending, recount
from storage.archive import finish_run
from storage.health import health_of
from storage.outcomes import RunStatus
from storage.runs import judge_run
from storage.runworkers import finish_worker, merged_health_counts, summed_counts, workers_of

logger = logging.getLogger("crawler.runner.coordinator")


def close_from_parts(
    session: Session,
    run_id: int,
    source: str,
    ending: Ending,
    *,
    done: bool,
    members: Set[str],
    gone: Mapping[str, int],
) -> None:
    """Close run `run_id` of `source`: `done` (its frontier emptied: ok, degraded or failed by its parts)
    or ended early with `ending`; `members` are the workers that took part, `gone` those that left mid-run
    with the requests they had in flight."""
    for row in workers_of(session, run_id):
        if row.finished_at is None:  # its crawl died without closing its part
            finish_worker(
                session,
                run_id,
                row.worker,
                status=RunStatus.INTERRUPTED,
                counts=row.counts or {},
                health_counts=row.health_counts,
                error="the worker stopped before closing its part of the run",
            )
    rows = workers_of(session, run_id)
    counts = recount(session, run_id, summed_counts(rows))
    status, notes = str(ending.status), [ending.reason] if ending.reason else []
    health = None
    if done:
        if rows and all(r.status == RunStatus.FAILED for r in rows):
            status = RunStatus.FAILED
            notes.append(f"every worker failed; first: {rows[0].error}")
        elif merged := merged_health_counts(rows):
            health, verdict = judge_run(session, run_id, health_of(**merged))
            if verdict.degraded:
                status = RunStatus.DEGRADED
                logger.warning("run %s of %s is degraded: %s", run_id, source, verdict.line)
    if not members:
        notes.append("no worker took the run")
    for worker, back in gone.items():
        notes.append(
            f"worker {worker} left mid-run; its {back} request(s) in flight went back to the frontier"
        )
    # what each worker said of its part (pages that failed, refused entry points), named when several
    said = [(r.worker, r.error) for r in rows if r.error and status != RunStatus.FAILED]
    notes += [f"{worker}: {error}" if len(rows) > 1 else str(error) for worker, error in said]
    finish_run(session, run_id, status=status, counts=counts, error="; ".join(notes) or None, health=health)
    logger.info("run %s of %s: %s %s (%d worker(s))", run_id, source, status, counts, len(rows))
