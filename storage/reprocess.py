"""The archive side of `pairchive reprocess`: which raw captures to go through, the ledger of those done,
and the writes a reprocess makes besides the store's own (judgements, gate flags). Plain values, no Scrapy.

A capture is reprocessed when it is an article's current capture (a stored story) or the capture of a page
a crawl rejected after reading it (`not_pairing`, `no_text`, `duplicate`). Captures of older revisions and
of `unchanged` re-fetches are not: the article's own capture stands for its text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, select, update
from sqlalchemy.orm import Session

from storage.models import (
    Article,
    Capture,
    CrawlRun,
    Rejection,
    ReprocessedPage,
    Sighting,
    url_hash,
    utcnow,
)
from storage.outcomes import Reason, RunStatus

REJECTED = (
    Reason.NOT_PAIRING,
    Reason.NO_TEXT,
    Reason.DUPLICATE,
)  # rejections whose pages a newer stage may judge otherwise
STAGES = ("relevance", "all")


def versions_key(versions: Mapping[str, str]) -> str:
    """Stage versions as the ledger compares them: JSON text with sorted keys."""
    return json.dumps(dict(versions), sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class Work:
    """One capture to reprocess: a stored article's (`article_id`) or a rejected page's (`reason`)."""

    capture_id: int
    url: str
    http_status: int
    fetched_at: datetime
    warc_file: str
    offset: int
    length: int
    article_id: int | None
    reason: str | None


@dataclass(frozen=True)
class Selection:
    """Which captures of one source a reprocess goes through."""

    source_id: int
    stage: str
    key: str  # versions_key of the current stage versions
    since: datetime | None = None  # only captures fetched at or after this instant


def _reasons(stage: str) -> tuple[str, ...]:
    # Re-judging alone can only turn a `not_pairing` page into a story; the other rejections are about
    # the text extracted or its copies, which only re-extraction (`all`) can change.
    return (Reason.NOT_PAIRING,) if stage == "relevance" else REJECTED


def _candidates(sel: Selection, *columns: Any) -> Select[Any]:
    stored = select(Article.id).where(Article.capture_id == Capture.id).limit(1).scalar_subquery()
    reason = (
        select(Rejection.reason)
        .where(Rejection.capture_id == Capture.id, Rejection.reason.in_(_reasons(sel.stage)))
        .order_by(Rejection.id)
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        select(*columns, stored.label("article_id"), reason.label("reason"))
        .join(CrawlRun, CrawlRun.id == Capture.run_id)
        .where(CrawlRun.source_id == sel.source_id)
        .where(stored.is_not(None) | reason.is_not(None))
    )
    if sel.since is not None:
        stmt = stmt.where(Capture.fetched_at >= sel.since)
    return stmt


def _done(sel: Selection) -> Any:
    """Reprocessed before under the same stage versions (a `relevance` pass is part of an `all` one)."""
    stages = ("all",) if sel.stage == "all" else STAGES
    return exists().where(
        ReprocessedPage.capture_id == Capture.id,
        ReprocessedPage.stage_versions == sel.key,
        ReprocessedPage.stage.in_(stages),
    )


def count_work(session: Session, sel: Selection) -> tuple[int, int]:
    """(captures to go through, captures already reprocessed under these versions) of one source."""
    rows = session.execute(_candidates(sel, Capture.id, _done(sel).label("done"))).all()
    done = sum(1 for row in rows if row.done)
    return len(rows) - done, done


def next_work(session: Session, sel: Selection, after: int, limit: int = 200) -> list[Work]:
    """The next captures to go through, in capture order, after capture id `after`."""
    stmt = (
        _candidates(
            sel,
            Capture.id,
            Capture.url,
            Capture.http_status,
            Capture.fetched_at,
            Capture.warc_file,
            Capture.offset,
            Capture.length,
        )
        .where(Capture.id > after, ~_done(sel))
        .order_by(Capture.id)
        .limit(limit)
    )
    return [
        Work(
            r.id, r.url, r.http_status, r.fetched_at, r.warc_file, r.offset, r.length, r.article_id, r.reason
        )
        for r in session.execute(stmt)
    ]


def record_reprocessed(
    session: Session,
    *,
    run_id: int,
    capture_id: int,
    sel: Selection,
    outcome: str,
    article_id: int | None,
    detail: str,
) -> None:
    session.add(
        ReprocessedPage(
            run_id=run_id,
            capture_id=capture_id,
            stage=sel.stage,
            stage_versions=sel.key,
            outcome=outcome,
            article_id=article_id,
            detail=detail[:2000],
        )
    )


def rejudge(session: Session, article_id: int, values: Mapping[str, Any]) -> None:
    """Bring an article's judgement (relevance, is_pairing, relevance_terms) and stage versions up to date."""
    keys = ("relevance", "is_pairing", "relevance_terms", "stage_versions")
    session.execute(
        update(Article)
        .where(Article.id == article_id)
        .values({k: values[k] for k in keys if k in values})
        .execution_options(synchronize_session=False)
    )


def set_flag(session: Session, article_id: int, reason: str | None, detail: str, run_id: int) -> None:
    """Flag a stored story today's gate rejects (`reason`), or clear its flag (`reason` None). The story
    stays either way; the ledger (`reprocessed_pages`) keeps every flag and unflag."""
    flagged = reason is not None
    session.execute(
        update(Article)
        .where(Article.id == article_id)
        .values(
            flag_reason=reason,
            flag_detail=detail[:2000] if flagged else None,
            flagged_at=utcnow() if flagged else None,
            flag_run_id=run_id if flagged else None,
        )
        .execution_options(synchronize_session=False)
    )


def other_with_hash(session: Session, content_hash: str, article_id: int) -> int | None:
    """Another stored article with this content hash (a re-extracted text that is another story's)."""
    return session.scalar(
        select(Article.id).where(Article.content_hash == content_hash, Article.id != article_id).limit(1)
    )


def sighting_exists(session: Session, url: str) -> bool:
    return session.scalar(select(func.count()).where(Sighting.url_hash == url_hash(url))) != 0


def running_reprocesses(session: Session, source_id: int) -> Sequence[int]:
    """Reprocess runs of a source still marked running: left by a reprocess that was killed."""
    return session.scalars(
        select(CrawlRun.id).where(
            CrawlRun.source_id == source_id,
            CrawlRun.trigger == "reprocess",
            CrawlRun.status == RunStatus.RUNNING,
        )
    ).all()
