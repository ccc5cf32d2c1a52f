"""Writes to the archive: sources, run records, rejections and articles. Plain values in, no Scrapy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import Article, ArticleRevision, CrawlRun, Rejection, Source, utcnow


def upsert_sources(session: Session, sources: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Create or update one row per configured source; returns name -> id."""
    ids: dict[str, int] = {}
    for cfg in sources:
        row = session.scalar(select(Source).where(Source.name == cfg["name"]))
        if row is None:
            row = Source(name=cfg["name"], title=cfg["title"], config=dict(cfg))
            session.add(row)
        elif row.config != dict(cfg) or row.title != cfg["title"]:
            row.title, row.config = cfg["title"], dict(cfg)
        session.flush()
        ids[row.name] = row.id
    return ids


def start_run(session: Session, source_id: int, trigger: str) -> int:
    run = CrawlRun(source_id=source_id, trigger=trigger, status="running", counts={})
    session.add(run)
    session.flush()
    return run.id


def finish_run(
    session: Session,
    run_id: int,
    *,
    status: str,
    counts: Mapping[str, int] | None = None,
    error: str | None = None,
    exit_code: int | None = None,
    only_if_running: bool = False,
) -> bool:
    """Close a run record. With `only_if_running`, leave a run the crawl itself already closed."""
    run = session.get(CrawlRun, run_id)
    if run is None or (only_if_running and run.status != "running"):
        return False
    run.status = status
    run.finished_at = run.finished_at or utcnow()
    if counts is not None:
        run.counts = dict(counts)
    if error:
        run.error = error
    if exit_code is not None:
        run.exit_code = exit_code
    return True


def set_exit_code(session: Session, run_ids: Iterable[int], exit_code: int) -> None:
    for run_id in run_ids:
        run = session.get(CrawlRun, run_id)
        if run is not None and run.exit_code is None:
            run.exit_code = exit_code


def record_rejection(
    session: Session, run_id: int, url: str, reason: str, detail: str, title: str | None
) -> None:
    session.add(Rejection(run_id=run_id, url=url, reason=reason, detail=detail[:2000], title=title))


def find_duplicate(session: Session, url: str, content_hash: str) -> Article | None:
    """A stored article with the same canonical URL or the same normalized text."""
    return session.scalars(
        select(Article).where(or_(Article.url == url, Article.content_hash == content_hash)).limit(1)
    ).first()


def insert_article(session: Session, values: Mapping[str, Any]) -> int | None:
    """Insert unless an article with the same URL or content hash exists; the new id, or None if it did.

    The unique constraints decide, so two crawls racing on one story still store it once.
    """
    dialect = session.get_bind().dialect.name
    stmt: sqlite.Insert | postgresql.Insert
    if dialect == "sqlite":
        stmt = sqlite.insert(Article).values(**values).on_conflict_do_nothing()
    elif dialect == "postgresql":
        stmt = postgresql.insert(Article).values(**values).on_conflict_do_nothing()
    else:
        raise RuntimeError(f"unsupported database dialect {dialect!r}")
    article_id = session.scalar(stmt.returning(Article.id))
    if article_id is not None:
        session.add(ArticleRevision(article_id=article_id, revision=1, **_revision_values(values)))
    return article_id


REVISED_FIELDS = ("title", "text", "content_hash", "charset", "http_status", "run_id")


def _revision_values(values: Mapping[str, Any]) -> dict[str, Any]:
    out = {key: values[key] for key in REVISED_FIELDS}
    out["fetched_at"] = values.get("fetched_at") or values["first_seen"]
    return out


def add_revision(session: Session, article_id: int, values: Mapping[str, Any]) -> int | None:
    """Keep a re-fetched text as the article's next revision, if its cleaned text changed.

    Returns the new revision number, or None when the text is the same as the newest one. Earlier
    revisions stay; the article row is brought up to the newest.
    """
    article = session.get(Article, article_id, with_for_update=True)
    if article is None:
        raise LookupError(f"no article {article_id}")
    if article.content_hash == values["content_hash"]:
        return None
    newest = (
        session.scalar(
            select(func.max(ArticleRevision.revision)).where(ArticleRevision.article_id == article_id)
        )
        or 0
    )
    session.add(ArticleRevision(article_id=article_id, revision=newest + 1, **_revision_values(values)))
    for key in (
        "title",
        "text",
        "search_text",
        "content_hash",
        "charset",
        "http_status",
        "language",
        "relevance",
        "relevance_terms",
        "is_pairing",
    ):
        if key in values:
            setattr(article, key, values[key])
    return newest + 1


def recrawl_targets(session: Session, source_id: int) -> list[tuple[int, str]]:
    """(article id, URL last fetched) of every article a source stored, oldest first."""
    rows = session.execute(
        select(Article.id, Article.fetched_url).where(Article.source_id == source_id).order_by(Article.id)
    )
    return [(article_id, url) for article_id, url in rows]
