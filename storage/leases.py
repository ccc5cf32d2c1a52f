"""Leases: one crawl per source at a time, across processes and machines sharing a database.

A crawl takes its source's lease before it starts (the daemon's jobs and `pairchive crawl` alike), renews it
with a heartbeat while it runs, and deletes it when it ends. Taking and taking over are single conditional
statements (an INSERT that does nothing on conflict, an UPDATE of an expired row only), so two processes
racing for one source cannot both win, on SQLite or PostgreSQL. A lease whose holder was killed is no longer
renewed; once it has expired the next crawl takes it over.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.archive import _insert
from storage.errors import PairchiveError
from storage.models import Lease, Source, utcnow

LEASE_SECONDS = 120  # a lease not renewed for this long is free to take over
HEARTBEAT_SECONDS = 30  # how often a running crawl renews its lease


@dataclass(frozen=True)
class Holder:
    source: str
    owner: str
    run_id: int | None
    acquired_at: datetime
    heartbeat_at: datetime
    expires_at: datetime

    def describe(self) -> str:
        run = f" (run {self.run_id})" if self.run_id is not None else ""
        return (
            f"{self.source} is being crawled by {self.owner}{run} since {self.acquired_at:%Y-%m-%d %H:%M:%S}Z; "
            f"its lease expires at {self.expires_at:%Y-%m-%d %H:%M:%S}Z unless renewed"
        )


class SourceBusy(PairchiveError):
    """Another crawl holds the source's lease."""

    def __init__(self, holder: Holder) -> None:
        super().__init__(holder.describe())
        self.holder = holder


def _changed(session: Session, statement: Any) -> bool:
    """Execute an INSERT or UPDATE of one lease; whether it changed the row. Told by RETURNING, which both
    databases support, rather than by rowcount, which a driver may not report for every statement."""
    return session.execute(statement.returning(Lease.source_id)).first() is not None


def new_owner(trigger: str) -> str:
    """A name for a lease holder that says who it is and is never reused."""
    return f"{trigger}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _holder(session: Session, source_id: int) -> Holder | None:
    row = session.execute(
        select(Lease, Source.name)
        .join(Source, Source.id == Lease.source_id)
        .where(Lease.source_id == source_id)
    ).first()
    if row is None:
        return None
    lease, name = row
    return Holder(name, lease.owner, lease.run_id, lease.acquired_at, lease.heartbeat_at, lease.expires_at)


def acquire(
    session: Session,
    source_id: int,
    owner: str,
    *,
    seconds: float = LEASE_SECONDS,
    now: datetime | None = None,
) -> Holder | None:
    """Take the source's lease for `owner`. Returns the expired lease it took over (None if it was free);
    raises SourceBusy naming the holder when a live lease is held."""
    now = now or utcnow()
    values = {"owner": owner, "run_id": None, "acquired_at": now, "heartbeat_at": now}
    expires = now + timedelta(seconds=seconds)
    taken = _changed(
        session,
        _insert(session, Lease)
        .values(source_id=source_id, expires_at=expires, **values)
        .on_conflict_do_nothing(),
    )
    if taken:
        return None
    previous = _holder(session, source_id)
    if previous is not None and previous.expires_at <= now:
        took_over = _changed(
            session,
            update(Lease)
            .where(Lease.source_id == source_id, Lease.owner == previous.owner, Lease.expires_at <= now)
            .values(expires_at=expires, **values)
            .execution_options(synchronize_session=False),
        )
        if took_over:
            return previous
        previous = _holder(session, source_id)  # another process took it over first
    if previous is None:  # released between the two statements: try once more
        return acquire(session, source_id, owner, seconds=seconds, now=now)
    raise SourceBusy(previous)


def attach_run(session: Session, source_id: int, owner: str, run_id: int) -> None:
    session.execute(
        update(Lease)
        .where(Lease.source_id == source_id, Lease.owner == owner)
        .values(run_id=run_id)
        .execution_options(synchronize_session=False)
    )


def heartbeat(
    session: Session,
    source_id: int,
    owner: str,
    *,
    seconds: float = LEASE_SECONDS,
    now: datetime | None = None,
) -> bool:
    """Renew `owner`'s lease; False if it is no longer theirs (it expired and was taken over)."""
    now = now or utcnow()
    return _changed(
        session,
        update(Lease)
        .where(Lease.source_id == source_id, Lease.owner == owner)
        .values(heartbeat_at=now, expires_at=now + timedelta(seconds=seconds))
        .execution_options(synchronize_session=False),
    )


def release(session: Session, source_id: int, owner: str) -> None:
    session.execute(
        delete(Lease)
        .where(Lease.source_id == source_id, Lease.owner == owner)
        .execution_options(synchronize_session=False)
    )


def holders(session: Session) -> dict[str, Holder]:
    """Every lease held now (expired ones included), by source name."""
    rows = session.execute(select(Lease, Source.name).join(Source, Source.id == Lease.source_id))
    return {
        name: Holder(name, lease.owner, lease.run_id, lease.acquired_at, lease.heartbeat_at, lease.expires_at)
        for lease, name in rows
    }
