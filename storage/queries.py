"""Reads from the archive: one article, streaming export, stories, and what runs rejected (search is
storage.search)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from storage.models import (
    Article,
    ArticleRevision,
    Capture,
    CrawlRun,
    Rejection,
    Sighting,
    Source,
    Story,
    StoryMerge,
)
from storage.outcomes import Reason, RunStatus
from storage.pairings import facts_of

EXPORT_BATCH = 500


def escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def local_published(article: Article) -> datetime | None:
    """The published time in its portal's time zone (stored in UTC; shown as the portal showed it)."""
    if article.published is None:
        return None
    return article.published.astimezone(zone_of(article.source.config))


def zone_of(config: dict[str, Any] | None) -> ZoneInfo:
    """A source's time zone from its stored configuration (UTC when it names none, or none known)."""
    try:
        return ZoneInfo(str((config or {}).get("timezone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def article_record(
    article: Article,
    sightings: list[dict[str, Any]] | None = None,
    fetched_at: datetime | None = None,
    facts: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The export form of one article, with its story and the story's sightings when given.

    `fetched_at` is when the stored text was fetched: its capture's time, else its newest revision's
    (`fetched_at`, when given), else when it was first stored."""
    if article.capture is not None:
        fetched_at = article.capture.fetched_at
    return {
        "id": article.id,
        "story_id": article.story_id,
        "url": article.url,
        "fetched_url": article.fetched_url,
        "source": article.source.name,
        "title": article.title,
        "published": _iso(local_published(article)),
        "author": article.author,
        "source_name": article.source_name,
        "language": article.language,
        "relevance": article.relevance,
        "is_pairing": article.is_pairing,
        "relevance_terms": article.relevance_terms,
        # which stages made the text and judged it (None: stored before versions were recorded)
        "stage_versions": article.stage_versions,
        "flag": flag_record(article),
        "content_hash": article.content_hash,
        "charset": article.charset,
        "http_status": article.http_status,
        "fetched_at": (fetched_at or article.first_seen).isoformat(),
        "first_seen": article.first_seen.isoformat(),
        "run_id": article.run_id,
        "sightings": sightings if sightings is not None else [],
        "capture": capture_record(article.capture) if article.capture else None,
        # who pairs with whom, as this text says (storage.pairings.facts_of)
        "facts": facts if facts is not None else [],
        "text": article.text,
    }


def flag_record(article: Article) -> dict[str, Any] | None:
    """Why a reprocess flagged a stored story (today's gate rejects it); None for a story not flagged."""
    if article.flag_reason is None:
        return None
    return {
        "reason": article.flag_reason,
        "detail": article.flag_detail,
        "flagged_at": article.flagged_at.isoformat() if article.flagged_at else None,
        "run_id": article.flag_run_id,
    }


def capture_record(capture: Capture) -> dict[str, Any]:
    """Where the bytes an article was read from are kept: its response record in a WARC file."""
    return {
        "warc_file": capture.warc_file,
        "offset": capture.offset,
        "length": capture.length,
        "record_id": capture.record_id,
        "payload_digest": capture.payload_digest,
        "fetched_at": capture.fetched_at.isoformat(),
    }


def sighting_record(sighting: Sighting, source_name: str) -> dict[str, Any]:
    return {
        "url": sighting.url,
        "fetched_url": sighting.fetched_url,
        "source": source_name,
        "article_id": sighting.article_id,
        "copy": sighting.copy,
        "first_seen": sighting.first_seen.isoformat(),
        "last_seen": sighting.last_seen.isoformat(),
    }


def sightings_of(session: Session, story_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Every sighting of each story, first seen first."""
    rows = session.execute(
        select(Sighting, Source.name)
        .join(Source, Sighting.source_id == Source.id)
        .where(Sighting.story_id.in_(sorted(set(story_ids))))
        .order_by(Sighting.story_id, Sighting.first_seen, Sighting.id)
    ).all()
    out: dict[int, list[dict[str, Any]]] = {story_id: [] for story_id in story_ids}
    for sighting, name in rows:
        out[sighting.story_id].append(sighting_record(sighting, name))
    return out


def newest_fetches() -> Select[int, datetime]:
    """Each article's id and when its newest revision was fetched (`fetched_at`)."""
    return select(
        ArticleRevision.article_id, func.max(ArticleRevision.fetched_at).label("fetched_at")
    ).group_by(ArticleRevision.article_id)


def fetch_times(session: Session, article_ids: Sequence[int]) -> dict[int, datetime]:
    """When each article's newest revision was fetched."""
    rows = session.execute(newest_fetches().where(ArticleRevision.article_id.in_(sorted(set(article_ids)))))
    return {article_id: fetched_at for article_id, fetched_at in rows}


def iter_records(
    session: Session, *, source: str | None = None, since: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """Every stored article's export record (with its story's sightings), in id order, in batches."""
    batch: list[Article] = []
    for article in iter_articles(session, source=source, since=since, expunge=False):
        batch.append(article)
        if len(batch) == EXPORT_BATCH:
            yield from _records(session, batch)
            batch = []
    yield from _records(session, batch)


def _records(session: Session, batch: list[Article]) -> Iterator[dict[str, Any]]:
    sightings = sightings_of(session, [a.story_id for a in batch])
    fetched = fetch_times(session, [a.id for a in batch])
    facts = facts_of(session, [a.id for a in batch])
    for article in batch:
        yield article_record(article, sightings[article.story_id], fetched.get(article.id), facts[article.id])
    session.expunge_all()


@dataclass
class StorySummary:
    id: int
    title: str
    canonical_article_id: int
    first_seen: str
    articles: int
    sightings: int
    portals: list[str]


def canonical_article(articles: Sequence[Article], portal_titles: dict[int, str]) -> Article:
    """The story's canonical article: the one from the outlet the others name as their source, when one
    of them comes from it; else the earliest published (then first seen)."""
    named = {a.source_name.strip() for a in articles if a.source_name}
    for article in articles:
        if portal_titles.get(article.source_id, "") in named:
            return article
    return min(
        articles,
        key=lambda a: (a.published is None, a.published or a.first_seen, a.first_seen, a.id),
    )


def stories(
    session: Session, *, multi: bool = False, source: str | None = None, limit: int = 50
) -> list[StorySummary]:
    """Stories newest first; `multi`: only those seen on more than one portal."""
    portals = func.count(func.distinct(Sighting.source_id))
    stmt = (
        select(Sighting.story_id)
        .join(Story, Story.id == Sighting.story_id)
        .where(Story.merged_into_id.is_(None))
        .group_by(Sighting.story_id)
        .order_by(func.max(Story.first_seen).desc(), Sighting.story_id.desc())
        .limit(limit)
    )
    if multi:
        stmt = stmt.having(portals > 1)
    if source:
        stmt = stmt.where(
            Sighting.story_id.in_(
                select(Sighting.story_id)
                .join(Source, Source.id == Sighting.source_id)
                .where(Source.name == source)
            )
        )
    story_ids = list(session.scalars(stmt))
    titles = {row.id: row.title for row in session.execute(select(Source.id, Source.title))}
    seen = sightings_of(session, story_ids)
    out = []
    for story_id in story_ids:
        articles = list(session.scalars(select(Article).where(Article.story_id == story_id)))
        story = session.get(Story, story_id)
        if not articles or story is None:
            continue
        canonical = canonical_article(articles, titles)
        out.append(
            StorySummary(
                id=story_id,
                title=canonical.title,
                canonical_article_id=canonical.id,
                first_seen=story.first_seen.isoformat(),
                articles=len(articles),
                sightings=len(seen[story_id]),
                portals=sorted({s["source"] for s in seen[story_id]}),
            )
        )
    return out


def story_merges(session: Session, story_id: int) -> list[StoryMerge]:
    """The merges that brought other stories into this one."""
    return list(session.scalars(select(StoryMerge).where(StoryMerge.into_story_id == story_id)))


def get_article(session: Session, article_id: int) -> Article | None:
    return session.get(Article, article_id)


def iter_articles(
    session: Session, *, source: str | None = None, since: datetime | None = None, expunge: bool = True
) -> Iterator[Article]:
    """Every stored article in id order, fetched in batches so memory stays flat on a large archive."""
    last_id = 0
    while True:
        stmt = select(Article).where(Article.id > last_id).order_by(Article.id).limit(EXPORT_BATCH)
        if source:
            stmt = stmt.join(Source, Article.source_id == Source.id).where(Source.name == source)
        if since:
            stmt = stmt.where(Article.first_seen >= since)
        batch = session.scalars(stmt).all()
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id
        if expunge:
            session.expunge_all()


def rejection_counts(session: Session, run_ids: Sequence[int]) -> dict[str, int]:
    rows = session.execute(
        select(Rejection.reason, func.count()).where(Rejection.run_id.in_(run_ids)).group_by(Rejection.reason)
    )
    return {reason: n for reason, n in rows}


def rejections(session: Session, run_ids: Sequence[int]) -> list[Rejection]:
    return list(
        session.scalars(select(Rejection).where(Rejection.run_id.in_(run_ids)).order_by(Rejection.id)).all()
    )


def articles_of_runs(session: Session, run_ids: Sequence[int]) -> list[Article]:
    return list(
        session.scalars(select(Article).where(Article.run_id.in_(run_ids)).order_by(Article.id)).all()
    )


# Rejections that are final for a URL: fetching it again would give the same answer.
FINAL_REJECTIONS = (Reason.NOT_PAIRING, Reason.NO_TEXT, Reason.DUPLICATE, Reason.REDIRECTED)


def known_urls(session: Session, source_id: int) -> Iterator[tuple[str, int | None, datetime]]:
    """Article URLs a source's earlier runs already settled, stored (with the article id) or rejected for
    good (id None), each with when it was last fetched."""
    newest = newest_fetches().subquery()
    stored = select(
        Article.url, Article.id, func.coalesce(newest.c.fetched_at, Article.first_seen)
    ).outerjoin(newest, newest.c.article_id == Article.id)
    # A re-fetch that found the text unchanged is a fetch too: later feed dates are compared with it.
    checked = (
        select(Rejection.url, func.max(Rejection.created_at).label("checked_at"))
        .where(Rejection.reason == Reason.UNCHANGED)
        .group_by(Rejection.url)
        .subquery()
    )
    stored = stored.add_columns(checked.c.checked_at).outerjoin(checked, checked.c.url == Article.fetched_url)
    for url, article_id, fetched_at, checked_at in session.execute(
        stored.where(Article.source_id == source_id)
    ):
        yield url, article_id, max(fetched_at, checked_at) if checked_at else fetched_at
    rejected = (
        select(Rejection.url, Rejection.created_at)
        .join(CrawlRun, Rejection.run_id == CrawlRun.id)
        .where(CrawlRun.source_id == source_id, Rejection.reason.in_(FINAL_REJECTIONS))
    )
    for url, created_at in session.execute(rejected):
        yield url, None, created_at


def last_finished_run(session: Session, source_id: int, before: int | None = None) -> CrawlRun | None:
    """The source's newest run that has ended (before run `before`, when given)."""
    stmt = select(CrawlRun).where(CrawlRun.source_id == source_id, CrawlRun.status != RunStatus.RUNNING)
    if before is not None:
        stmt = stmt.where(CrawlRun.id < before)
    return session.scalars(stmt.order_by(CrawlRun.id.desc()).limit(1)).first()


def source_overview(session: Session, names: Sequence[str]) -> dict[str, tuple[CrawlRun | None, int]]:
    """For each source name: its newest run (None if it never ran) and the number of articles stored."""
    out: dict[str, tuple[CrawlRun | None, int]] = {name: (None, 0) for name in names}
    for row in session.scalars(select(Source).where(Source.name.in_(list(names)))):
        last = session.scalars(
            select(CrawlRun).where(CrawlRun.source_id == row.id).order_by(CrawlRun.id.desc()).limit(1)
        ).first()
        stored = session.scalar(select(func.count()).select_from(Article).where(Article.source_id == row.id))
        out[row.name] = (last, stored or 0)
    return out


def iter_captures(session: Session, run_id: int | None = None, batch: int = 500) -> Iterator[Capture]:
    """Every capture (of one run, if given) in id order, read in batches so memory stays flat."""
    last_id = 0
    while True:
        stmt = select(Capture).where(Capture.id > last_id).order_by(Capture.id).limit(batch)
        if run_id is not None:
            stmt = stmt.where(Capture.run_id == run_id)
        rows = session.scalars(stmt).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
        session.expunge_all()


def uncaptured_count(session: Session) -> int:
    """Stored articles without a raw capture (fetched before raw captures were kept)."""
    return session.scalar(select(func.count()).where(Article.capture_id.is_(None))) or 0
