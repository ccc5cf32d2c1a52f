"""Writes to the archive: sources, run records, rejections and articles. Plain values in, no Scrapy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.fulltext import index_text
from storage.models import (
    Article,
    ArticleRevision,
    CrawlRun,
    MinhashBand,
    Rejection,
    Sighting,
    Source,
    Story,
    StoryMerge,
    url_hash,
    utcnow,
)
from storage.outcomes import Reason, RunStatus
from storage.redact import scrub


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
    run = CrawlRun(source_id=source_id, trigger=trigger, status=RunStatus.RUNNING, counts={})
    session.add(run)
    session.flush()
    return run.id


def finish_run(
    session: Session,
    run_id: int,
    *,
    status: str,  # a RunStatus (the child reports its end as text); the database refuses any other
    counts: Mapping[str, int] | None = None,
    error: str | None = None,
    exit_code: int | None = None,
    only_if_running: bool = False,
    health: Mapping[str, Any] | None = None,
) -> bool:
    """Close a run record. With `only_if_running`, leave a run the crawl itself already closed."""
    run = session.get(CrawlRun, run_id)
    if run is None or (only_if_running and run.status != RunStatus.RUNNING):
        return False
    run.status = status
    run.finished_at = run.finished_at or utcnow()
    if counts is not None:
        run.counts = dict(counts)
    if error:
        run.error = scrub(error)  # a driver's error may echo the database URL
    if exit_code is not None:
        run.exit_code = exit_code
    if health is not None:
        run.health = dict(health)
    return True


def set_exit_code(session: Session, run_ids: Iterable[int], exit_code: int) -> None:
    for run_id in run_ids:
        run = session.get(CrawlRun, run_id)
        if run is not None and run.exit_code is None:
            run.exit_code = exit_code


def record_rejection(
    session: Session,
    run_id: int,
    url: str,
    reason: Reason,
    detail: str,
    title: str | None,
    capture_id: int | None = None,
) -> None:
    session.add(
        Rejection(
            run_id=run_id, url=url, reason=reason, detail=detail[:2000], title=title, capture_id=capture_id
        )
    )


def find_duplicate(session: Session, url: str, content_hash: str) -> Article | None:
    """A stored article with the same canonical URL or the same normalized text."""
    return session.scalars(
        select(Article)
        .where(or_(Article.url_hash == url_hash(url), Article.content_hash == content_hash))
        .limit(1)
    ).first()


def _insert(session: Session, model: type[Any]) -> sqlite.Insert | postgresql.Insert:
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite.insert(model)
    if dialect == "postgresql":
        return postgresql.insert(model)
    raise RuntimeError(f"unsupported database dialect {dialect!r}")


def insert_article(
    session: Session,
    values: Mapping[str, Any],
    *,
    keys: Sequence[int] = (),
    near: Sequence[tuple[int, float]] = (),
    made_by: str = "crawl",
) -> int | None:
    """Insert unless an article with the same URL or content hash exists; the new id, or None if it did.

    The article joins the story of its nearest copy (`near`: story id and similarity, best first) or
    starts a story of its own; when it is a near copy of several stories they are merged into the oldest.
    Its URL becomes a sighting of the story and its band keys (`keys`) go into the near-copy index.
    The unique constraints decide, so two crawls racing on one story still store it once.
    """
    stories = sorted({story_id for story_id, _ in near})
    new_story: Story | None = None
    if stories:
        story_id = stories[0]
    else:
        new_story = Story(first_seen=values["first_seen"])
        session.add(new_story)
        session.flush()
        story_id = new_story.id
    stmt = _insert(session, Article).values(**values, story_id=story_id).on_conflict_do_nothing()
    article_id = session.scalar(stmt.returning(Article.id))
    if article_id is None:
        if new_story is not None:
            session.delete(new_story)
        return None
    session.add(ArticleRevision(article_id=article_id, revision=1, **_revision_values(values, made_by)))
    record_sighting(
        session,
        story_id=story_id,
        article_id=article_id,
        source_id=values["source_id"],
        url=values["url"],
        fetched_url=values["fetched_url"],
        seen_at=values["first_seen"],
        run_id=values.get("run_id"),
    )
    add_bands(session, article_id, keys)  # a new article: nothing to replace
    index_article(session, article_id, values["title"], values["text"])
    similarity = dict(near)
    for other in stories[1:]:
        merge_story(
            session, other, into=story_id, article_id=article_id, similarity=similarity.get(other, 0.0)
        )
    return article_id


# PostgreSQL's tsvector holds at most 1 MB. Each distinct token costs its UTF-8 bytes, an entry and a
# position (8 bytes are counted, more than it takes); repeats cost less, so this budget is a safe bound:
# about 60,000 characters of Chinese, a dozen times a long news story.
PG_TOKEN_BYTES = 900_000


def pg_tokens(tokens: str) -> str:
    """The leading tokens that fit one tsvector, however many distinct ones the text has."""
    used = 0
    words = tokens.split(" ")
    for n, token in enumerate(words):
        used += len(token.encode("utf-8")) + 8
        if used > PG_TOKEN_BYTES:
            return " ".join(words[:n])
    return tokens


def index_article(session: Session, article_id: int, title: str, text: str) -> None:
    """Put an article's title and text into the full-text index (storage.fulltext), replacing what was there."""
    tokens = index_text(title, text)
    if session.get_bind().dialect.name == "sqlite":
        session.execute(sql_text("DELETE FROM articles_fts WHERE rowid = :id"), {"id": article_id})
        session.execute(
            sql_text("INSERT INTO articles_fts (rowid, tokens) VALUES (:id, :tokens)"),
            {"id": article_id, "tokens": tokens},
        )
    else:
        # A tsvector holds at most 1 MB: a page of some hundred thousand characters would not be stored
        # at all. Its leading tokens are indexed (the whole text is still stored).
        tokens = pg_tokens(tokens)
        session.execute(
            sql_text(
                "INSERT INTO article_search (article_id, tokens) VALUES (:id, to_tsvector('simple', :tokens))"
                " ON CONFLICT (article_id) DO UPDATE SET tokens = EXCLUDED.tokens"
            ),
            {"id": article_id, "tokens": tokens},
        )


def set_bands(session: Session, article_id: int, keys: Sequence[int]) -> None:
    """Replace an article's near-copy band keys."""
    session.execute(delete(MinhashBand).where(MinhashBand.article_id == article_id))
    add_bands(session, article_id, keys)


def add_bands(session: Session, article_id: int, keys: Sequence[int]) -> None:
    """Index a new article's near-copy band keys."""
    unique = sorted(set(keys))
    if unique:
        session.execute(_insert(session, MinhashBand), [{"article_id": article_id, "key": k} for k in unique])


def near_candidates(session: Session, keys: Sequence[int], limit: int = 50) -> list[tuple[int, int, str]]:
    """(article id, story id, search text) of the stored articles sharing most band keys with `keys`,
    found through the band index (never by reading the archive)."""
    if not keys:
        return []
    shared = (
        select(MinhashBand.article_id)
        .where(MinhashBand.key.in_(sorted(set(keys))))
        .group_by(MinhashBand.article_id)
        .order_by(func.count().desc(), MinhashBand.article_id)
        .limit(limit)
    )
    rows = session.execute(
        select(Article.id, Article.story_id, Article.search_text).where(
            Article.id.in_(shared.scalar_subquery())
        )
    ).all()
    return [(row[0], row[1], row[2]) for row in rows]


def record_sighting(
    session: Session,
    *,
    story_id: int,
    article_id: int | None,
    source_id: int,
    url: str,
    fetched_url: str,
    seen_at: datetime,
    run_id: int | None,
    copy: bool = False,
) -> None:
    """A story seen at a (canonical) URL: a new sighting, or `last_seen` moved on for a known one."""
    stmt = _insert(session, Sighting).values(
        story_id=story_id,
        article_id=article_id,
        source_id=source_id,
        url=url,
        fetched_url=fetched_url,
        copy=copy,
        first_seen=seen_at,
        last_seen=seen_at,
        run_id=run_id,
    )
    session.execute(
        stmt.on_conflict_do_update(index_elements=["url_hash"], set_={"last_seen": stmt.excluded.last_seen})
    )


def touch_sighting(session: Session, url: str, seen_at: datetime) -> None:
    """A known URL met again (a re-fetch): its sighting's `last_seen` moves on."""
    session.execute(update(Sighting).where(Sighting.url_hash == url_hash(url)).values(last_seen=seen_at))


def merge_story(
    session: Session, story_id: int, *, into: int, article_id: int | None, similarity: float
) -> None:
    """Move a story's articles and sightings into another story and record why; the absorbed story's row
    stays, pointing at the story it went into."""
    absorbed = session.get(Story, story_id)
    target = session.get(Story, into)
    if absorbed is None or target is None or story_id == into:
        return
    session.execute(update(Article).where(Article.story_id == story_id).values(story_id=into))
    session.execute(update(Sighting).where(Sighting.story_id == story_id).values(story_id=into))
    session.execute(update(Story).where(Story.merged_into_id == story_id).values(merged_into_id=into))
    absorbed.merged_into_id = into
    target.first_seen = min(target.first_seen, absorbed.first_seen)
    session.add(
        StoryMerge(story_id=story_id, into_story_id=into, article_id=article_id, similarity=similarity)
    )


REVISED_FIELDS = ("title", "text", "content_hash", "charset", "http_status", "run_id")


def _revision_values(values: Mapping[str, Any], made_by: str) -> dict[str, Any]:
    out = {key: values[key] for key in REVISED_FIELDS}
    out["fetched_at"] = values.get("fetched_at") or values["first_seen"]
    out["capture_id"] = values.get("capture_id")
    out["stage_versions"] = values.get("stage_versions")
    out["made_by"] = made_by
    return out


def add_revision(
    session: Session,
    article_id: int,
    values: Mapping[str, Any],
    keys: Sequence[int] = (),
    made_by: str = "recrawl",
) -> int | None:
    """Keep a re-fetched (`recrawl`) or re-extracted (`reprocess`) text as the article's next revision,
    if its cleaned text changed.

    Returns the new revision number, or None when the text is the same as the newest one. Earlier
    revisions stay; the article row is brought up to the newest.
    """
    # FOR UPDATE OF articles: the row's capture is loaded by an outer join, which PostgreSQL cannot lock
    article = session.get(Article, article_id, with_for_update={"of": Article})
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
    session.add(
        ArticleRevision(article_id=article_id, revision=newest + 1, **_revision_values(values, made_by))
    )
    if keys:  # the new text's band keys replace the old text's
        set_bands(session, article_id, keys)
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
        "capture_id",
        "stage_versions",
    ):
        if key in values:
            setattr(article, key, values[key])
    index_article(session, article_id, article.title, article.text)
    return newest + 1


def recrawl_targets(session: Session, source_id: int) -> list[tuple[int, str]]:
    """(article id, URL last fetched) of every article a source stored, oldest first."""
    rows = session.execute(
        select(Article.id, Article.fetched_url).where(Article.source_id == source_id).order_by(Article.id)
    )
    return [(article_id, url) for article_id, url in rows]
