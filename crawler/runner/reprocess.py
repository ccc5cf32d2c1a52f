"""`pairchive reprocess`: today's per-article stages run again over the raw captures of earlier crawls.

Source by source, every stored story's capture and every rejected page's (crawler.runner.rejudge says what
today's stages make of each) in capture order. A dry run changes nothing and reports. `apply` first takes
the source's lease (as a crawl does: one job per source at a time), opens a run record (trigger
`reprocess`), and commits each page with its ledger row (`reprocessed_pages`), so a kill loses at most the
page in hand; the next `apply` skips the captures already reprocessed under the current stage versions and
closes a killed reprocess's run as `interrupted`.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as day_start
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.runner.rejudge import (
    KINDS,
    Decision,
    SourceInfo,
    apply,
    decide_rejected,
    decide_stored,
    unreadable,
)
from crawler.vocabulary.errors import PairchiveError, first_line
from pipelines.page import stage_versions
from storage.archive import finish_run, start_run
from storage.db import Database
from storage.leases import HEARTBEAT_SECONDS, acquire, attach_run, heartbeat, new_owner, release
from storage.models import Source
from storage.outcomes import RunStatus
from storage.reprocess import (
    STAGES,
    Selection,
    Work,
    count_work,
    next_work,
    running_reprocesses,
    versions_key,
)
from storage.warc import WarcError

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int, Mapping[str, int]], None]  # source, pages done, pages to do, counts


class ReprocessError(PairchiveError):
    """A reprocess that cannot start: an unknown source, an unknown stage."""


class ReprocessInterrupted(PairchiveError):
    """Ctrl-C, SIGTERM or a lease lost: the run so far is recorded, and its report kept."""

    def __init__(self, report: Report, why: str) -> None:
        super().__init__(why)
        self.report = report


@dataclass
class Change:
    kind: str
    source: str
    url: str
    article_id: int | None
    capture_id: int
    detail: str


@dataclass
class Report:
    applied: bool
    stage: str
    versions: dict[str, str]
    counts: Counter[str] = field(default_factory=Counter)
    changes: list[Change] = field(default_factory=list)
    runs: dict[str, int] = field(default_factory=dict)
    already: int = 0  # captures reprocessed before under these versions, skipped

    def add(self, source: str, work: Work, decision: Decision) -> None:
        self.counts["pages"] += 1
        for kind in decision.kinds or ["unchanged"]:
            self.counts[kind] += 1
        if decision.kinds:
            for kind in decision.kinds:
                url = decision.item.canonical_url if decision.item is not None else work.url
                self.changes.append(
                    Change(kind, source, url, decision.article_id, work.capture_id, decision.detail)
                )

    def as_json(self) -> dict[str, Any]:
        counts = {"pages": self.counts["pages"], **{k: self.counts[k] for k in KINDS}}
        return {
            "applied": self.applied,
            "stage": self.stage,
            "stage_versions": self.versions,
            "runs": self.runs,
            "counts": {**counts, "already_reprocessed": self.already},
            "changes": [vars(c) for c in self.changes],
        }


def _sources(session: Session, names: Sequence[str]) -> list[SourceInfo]:
    rows = session.execute(select(Source.id, Source.name, Source.config).order_by(Source.name)).all()
    known = {name: SourceInfo.of(id_, name, config or {}) for id_, name, config in rows}
    if unknown := [n for n in names if n not in known]:
        have = ", ".join(known) or "none"
        raise ReprocessError(f"no source {', '.join(unknown)} in the archive (it has: {have})")
    return [known[n] for n in names] if names else list(known.values())


def _since(day: date | None, source: SourceInfo) -> datetime | None:
    """Midnight of `day` in the source's time zone."""
    return datetime.combine(day, day_start(), ZoneInfo(source.timezone)) if day else None


def reprocess(
    database: Database,
    warc_dir: Path,
    *,
    sources: Sequence[str] = (),
    since: date | None = None,
    stage: str = "all",
    apply_changes: bool = False,
    progress: Progress | None = None,
) -> Report:
    """Reprocess the captures of `sources` (every source in the archive when empty); the report.
    Raises ReprocessInterrupted (with the report so far) on Ctrl-C, SourceBusy when a crawl is at work.
    `apply_changes` needs a `database` opened for writing; a dry run reads only."""
    if stage not in STAGES:
        raise ReprocessError(f"unknown stage {stage!r}: one of {', '.join(STAGES)}")
    if apply_changes and not database.writable:
        raise ValueError("reprocess --apply needs the database opened for writing")
    sessions = database.sessions
    versions = stage_versions()
    report = Report(apply_changes, stage, versions)
    with sessions() as session:
        chosen = _sources(session, sources)
    for source in chosen:
        sel = Selection(source.id, stage, versions_key(versions), _since(since, source))
        _Pass(sessions, warc_dir, source, sel, report, progress).run()
    return report


class LeaseLost(Exception):
    pass


@dataclass
class _Pass:
    """One source's reprocess: its pages in capture order, and with `apply` its run record and lease."""

    sessions: sessionmaker[Session]
    root: Path
    source: SourceInfo
    sel: Selection
    report: Report
    progress: Progress | None
    run_id: int | None = None
    owner: str = ""
    counts: Counter[str] = field(default_factory=Counter)
    planned: dict[str, str] = field(default_factory=dict)

    def run(self) -> None:
        with self.sessions() as session:
            todo, already = count_work(session, self.sel)
        self.report.already += already
        self.counts["already_reprocessed"] = already
        if not self.report.applied:
            try:
                self._pages(todo)
            except KeyboardInterrupt:
                raise ReprocessInterrupted(
                    self.report, "the dry run was stopped; nothing was changed"
                ) from None
            return
        if todo == 0:
            return  # nothing to apply: no run record, and no lease taken from a crawl
        self._open()
        status, error = RunStatus.OK, None
        try:
            self._pages(todo)
        except (KeyboardInterrupt, LeaseLost) as exc:
            status = RunStatus.INTERRUPTED
            error = "the lease was taken over" if isinstance(exc, LeaseLost) else "stopped before it finished"
            raise ReprocessInterrupted(self.report, f"{self.source.name}: reprocess {error}") from None
        except BaseException as exc:
            status, error = RunStatus.FAILED, first_line(exc)
            raise
        finally:
            self._close(status, error)

    def _open(self) -> None:
        self.owner = new_owner("reprocess")
        with self.sessions.begin() as session:
            acquire(session, self.source.id, self.owner)
        try:
            with self.sessions.begin() as session:
                self.run_id = start_run(session, self.source.id, "reprocess")
                attach_run(session, self.source.id, self.owner, self.run_id)
                for left in running_reprocesses(session, self.source.id):
                    if left != self.run_id:
                        why = (
                            f"this reprocess stopped without closing its run; run {self.run_id} continues it"
                        )
                        finish_run(
                            session, left, status=RunStatus.INTERRUPTED, error=why, only_if_running=True
                        )
        except BaseException:
            self._release()
            raise
        self.report.runs[self.source.name] = self.run_id

    def _close(self, status: str, error: str | None) -> None:
        if unread := self.counts["unreadable"]:
            first = next(c for c in self.report.changes if c.kind == "unreadable")
            error = error or f"{unread} capture(s) could not be read; first: {first.url}: {first.detail}"
        try:
            with self.sessions.begin() as session:
                assert self.run_id is not None
                finish_run(session, self.run_id, status=status, counts=self.counts, error=error)
        finally:
            self._release()

    def _release(self) -> None:
        with self.sessions.begin() as session:
            release(session, self.source.id, self.owner)

    def _pages(self, todo: int) -> None:
        done, after, beat = 0, 0, time.monotonic() + HEARTBEAT_SECONDS
        while True:
            with self.sessions() as session:
                batch = next_work(session, self.sel, after)
            if not batch:
                break
            for work in batch:
                after = work.capture_id
                self._page(work)
                done += 1
                if self.progress is not None:
                    self.progress(self.source.name, done, todo, self.counts)
                if self.run_id is not None and time.monotonic() > beat:
                    beat = time.monotonic() + HEARTBEAT_SECONDS
                    self._beat()

    def _beat(self) -> None:
        with self.sessions.begin() as session:
            if not heartbeat(session, self.source.id, self.owner):
                raise LeaseLost()

    def _page(self, work: Work) -> None:
        """Decide and (with apply) write one page, in one transaction."""
        if self.run_id is None:  # a dry run: nothing is written, the pages it would store are noted
            with self.sessions() as session:
                decision = self._decide(session, work)
            if "new_story" in decision.kinds and decision.item is not None:
                self.planned[decision.item.canonical_url] = decision.item.canonical_url
                self.planned[decision.item.content_hash] = decision.item.canonical_url
        else:
            with self.sessions.begin() as session:
                decision = self._decide(session, work)
                if "unreadable" not in decision.kinds:
                    apply(session, decision, work, self.run_id, self.sel)
        self.report.add(self.source.name, work, decision)
        self.counts["pages"] += 1
        for kind in decision.kinds or ["unchanged"]:
            self.counts[kind] += 1
        if decision.kinds:
            logger.info("%s: %s (%s)", work.url, decision.outcome, decision.detail)

    def _decide(self, session: Session, work: Work) -> Decision:
        try:
            if work.article_id is not None:
                return decide_stored(
                    session, work, self.sel.stage, self.source, self.root, self.report.versions
                )
            return decide_rejected(session, work, self.source, self.root, self.planned)
        except WarcError as exc:
            logger.warning("capture %d of %s cannot be read: %s", work.capture_id, work.url, exc)
            return unreadable(exc)
