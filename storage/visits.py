"""The visits adaptive polling learns from: a source's recent crawl runs that ended, newest first.

Nothing else is kept for it: the interval is read again from these rows whenever it is asked for, so it
survives a restart and several daemons over one archive agree on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import CrawlRun, Source
from storage.outcomes import RunStatus

VISIT_WINDOW = 50  # visits read back: enough to walk an interval from its lower bound to its upper one
# A reprocess reads the archive's own captures, not the portal: no visit.
NOT_VISITS = ("reprocess",)


@dataclass(frozen=True)
class Visit:
    """One ended crawl run of a source: when it started, how it ended, its counts by outcome."""

    run_id: int
    started_at: datetime
    status: str
    counts: dict[str, Any]


def recent_visits(session: Session, source: str, limit: int = VISIT_WINDOW) -> list[Visit]:
    """The source's last `limit` crawl runs that ended (any status but `running`), newest first. A run
    still open is left to the lease: the crawl it belongs to is either going on or about to be closed."""
    rows = session.execute(
        select(CrawlRun.id, CrawlRun.started_at, CrawlRun.status, CrawlRun.counts)
        .join(Source, Source.id == CrawlRun.source_id)
        .where(
            Source.name == source,
            CrawlRun.status != RunStatus.RUNNING,
            CrawlRun.trigger.not_in(NOT_VISITS),
        )
        .order_by(CrawlRun.id.desc())
        .limit(limit)
    ).all()
    return [
        Visit(run_id, started, str(status), dict(counts or {})) for run_id, started, status, counts in rows
    ]
