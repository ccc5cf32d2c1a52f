"""Reads that the reading room shows beside the CLI's: an article's revisions, and every source with what
it holds and how its runs went."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Article, ArticleRevision, CrawlRun, Source
from storage.runs import standing


def revisions_of(session: Session, article_id: int) -> list[ArticleRevision]:
    """Every text fetched for the article, the first revision first."""
    return list(
        session.scalars(
            select(ArticleRevision)
            .where(ArticleRevision.article_id == article_id)
            .order_by(ArticleRevision.revision)
        )
    )


@dataclass
class SourceRow:
    name: str
    title: str
    stories: int
    pairing: int
    newest_published: datetime | None
    last_run: CrawlRun | None
    last_ok: datetime | None
    failures_in_a_row: int


def source_rows(session: Session) -> list[SourceRow]:
    """Every source the archive knows, by name: its stored articles (and of them judged pairings), the
    newest publication, its last run and how many runs in a row did not end ok."""
    counts = {
        source_id: (int(total), int(pairing or 0), newest)
        for source_id, total, pairing, newest in session.execute(
            select(
                Article.source_id,
                func.count(),
                func.sum(func.cast(Article.is_pairing, Article.id.type)),
                func.max(Article.published),
            ).group_by(Article.source_id)
        )
    }
    sources = list(session.scalars(select(Source).order_by(Source.name)))
    standings = standing(session, [s.name for s in sources])
    rows = []
    for source in sources:
        total, pairing, newest = counts.get(source.id, (0, 0, None))
        stand = standings[source.name]
        rows.append(
            SourceRow(
                source.name,
                source.title,
                total,
                pairing,
                newest,
                stand.last_run,
                stand.last_ok,
                stand.consecutive_failures,
            )
        )
    return rows


def newest_articles(
    session: Session, limit: int = 20, *, source: str | None = None, pairing_only: bool = True
) -> list[tuple[Article, str]]:
    """The most recently stored articles (of one source, when given; judged pairings, unless not
    `pairing_only`) with their source's name, newest first: the first-seen index walked backwards,
    however large the archive."""
    stmt = select(Article, Source.name).join(Source, Article.source_id == Source.id)
    if source:
        stmt = stmt.where(Source.name == source)
    if pairing_only:
        stmt = stmt.where(Article.is_pairing.is_(True))
    stmt = stmt.order_by(Article.first_seen.desc(), Article.id.desc()).limit(limit)
    return [(article, name) for article, name in session.execute(stmt)]
