"""Reads from the archive: search, one article, streaming export, and what runs rejected."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import column, func, literal_column, or_, select, table
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from pipelines.normalize import search_form, simplified
from storage.fulltext import fts5_match, highlight_terms, parse, tsquery
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

EXPORT_BATCH = 500
# Ranking by relevance weighs every match, so a word found in half a million stories would cost a second.
# Relevance is therefore decided among the RANK_WINDOW most recently stored matches (all of them when there
# are fewer); when filters leave fewer hits than asked for there, the window widens until they are found or
# every match has been looked at. Date order is exact.
RANK_WINDOW = 2000


@dataclass
class Hit:
    id: int
    title: str
    source: str
    published: str | None
    language: str
    relevance: float
    url: str
    snippet: str


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def snippet(text: str, term: str, width: int = 40) -> str:
    """The text around the first occurrence of `term` (case-insensitive), marked with [ ]."""
    pos = text.lower().find(term.lower())
    if pos < 0:
        return text[: 2 * width].replace("\n", " ")
    start, end = max(0, pos - width), pos + len(term) + width
    found = text[pos : pos + len(term)]
    out = f"{text[start:pos]}[{found}]{text[pos + len(term) : end]}".replace("\n", " ")
    return ("…" if start else "") + out + ("…" if end < len(text) else "")


def search(
    session: Session,
    query: str,
    *,
    source: str | None = None,
    language: str | None = None,
    since: date | None = None,
    until: date | None = None,
    pairing_only: bool = False,
    sort: str = "relevance",
    limit: int = 20,
) -> list[Hit]:
    """Stories matching `query` (storage.fulltext: words, "phrases", AND/OR/NOT, either script), best
    first or newest first (`sort="date"`). A one-character Han term cannot be looked up in a bigram index,
    so such a query is a substring scan of the search form instead (slower, same answers).

    Raises QueryError (one line) for a query with nothing to search for.
    """
    parsed = parse(query)
    single_char = any(
        len(t.tokens) == 1 and len(t.tokens[0]) == 1 and not t.tokens[0].isascii()
        for group in parsed.groups
        for t in group
        if not t.negated
    )
    dialect = session.get_bind().dialect.name
    stmt = select(Article, Source.name).join(Source, Article.source_id == Source.id)
    filtered = stmt  # the filters below, without the text match (for the newest-first plan on SQLite)
    rank: Any = None
    floor: Any = None  # the indexed article-id column to bound to the ranking window
    match: Any = None  # the matching article ids, as a subquery
    if single_char:
        bare = search_form(query.strip().strip('"'))
        pattern = f"%{_escape_like(bare)}%"
        stmt = stmt.where(
            or_(Article.search_text.ilike(pattern, escape="\\"), Article.title.ilike(pattern, escape="\\"))
        )
    elif dialect == "sqlite":
        fts = table("articles_fts", column("rowid"))
        matches = sql_text("articles_fts MATCH :match").bindparams(match=fts5_match(parsed))
        stmt = stmt.join(fts, fts.c.rowid == Article.id).where(matches)
        match = select(fts.c.rowid).where(matches)
        rank = literal_column("bm25(articles_fts)").asc()
        floor = fts.c.rowid
    else:
        index = table("article_search", column("article_id"), column("tokens"))
        tsq = func.to_tsquery("simple", tsquery(parsed))
        stmt = stmt.join(index, index.c.article_id == Article.id).where(index.c.tokens.op("@@")(tsq))
        rank = func.ts_rank(index.c.tokens, tsq).desc()
        floor = index.c.article_id
    conditions: list[Any] = []
    if source:
        conditions.append(Source.name == source)
    if language:
        conditions.append(
            or_(
                Article.language == language,
                Article.language.like(f"{_escape_like(language)}-%", escape="\\"),
            )
        )
    if since:
        conditions.append(Article.published >= datetime.combine(since, time(0), UTC) - timedelta(hours=14))
    if until:
        conditions.append(
            Article.published < datetime.combine(until, time(0), UTC) + timedelta(days=1, hours=14)
        )
    if pairing_only:
        conditions.append(Article.is_pairing.is_(True))
    stmt, filtered = stmt.where(*conditions), filtered.where(*conditions)
    newest = (Article.published.desc().nulls_last(), Article.id.desc())
    marks = highlight_terms(parsed)
    if sort == "date" or rank is None:
        if match is not None and _window_floor(session, parsed, dialect, RANK_WINDOW) is not None:
            # Many matches: walk the articles newest first (the published index) and keep those in the
            # match set, rather than sorting every match. `+ 0` keeps the planner off the id lookup.
            stmt = filtered.where((Article.id + 0).in_(match))
        return _hits(session, stmt.order_by(*newest), marks, limit, since, until)
    stmt = stmt.order_by(rank, *newest)
    window = RANK_WINDOW
    while True:
        lowest = _window_floor(session, parsed, dialect, window)
        hits = _hits(
            session, stmt if lowest is None else stmt.where(floor >= lowest), marks, limit, since, until
        )
        if lowest is None or len(hits) >= limit:
            return hits
        window *= 8


def _window_floor(session: Session, parsed: Any, dialect: str, window: int) -> int | None:
    """The lowest article id among the `window` most recently stored matches, or None when there are no
    more matches than that (then all are ranked). The index hands out matches newest first cheaply."""
    if dialect == "sqlite":
        found = session.execute(
            sql_text(
                "SELECT rowid FROM articles_fts WHERE articles_fts MATCH :match ORDER BY rowid DESC"
                " LIMIT 1 OFFSET :skip"
            ),
            {"match": fts5_match(parsed), "skip": window - 1},
        ).first()
    else:
        found = session.execute(
            sql_text(
                "SELECT article_id FROM article_search WHERE tokens @@ to_tsquery('simple', :query)"
                " ORDER BY article_id DESC LIMIT 1 OFFSET :skip"
            ),
            {"query": tsquery(parsed), "skip": window - 1},
        ).first()
    return None if found is None else int(found[0])


def _hits(
    session: Session, stmt: Any, marks: list[str], limit: int, since: date | None, until: date | None
) -> list[Hit]:
    hits = []
    for a, name in session.execute(stmt.limit(limit * 2 if since or until else limit)):
        day = local_published(a)
        if (since and (day is None or day.date() < since)) or (until and (day is None or day.date() > until)):
            continue  # the day in the portal's own zone decides
        hits.append(
            Hit(
                id=a.id,
                title=a.title,
                source=name,
                published=_iso(day),
                language=a.language,
                relevance=a.relevance,
                url=a.url,
                snippet=_snippet(a, marks),
            )
        )
    return hits[:limit]


def _snippet(article: Article, marks: list[str]) -> str:
    """The text around the first searched phrase, in the script it was published in."""
    for mark in marks:
        if mark.lower() in article.text.lower():
            return snippet(article.text, mark)
    # A simplified-script mark in a traditional text: find it in the text converted character by
    # character (same length, same places) and mark the published characters there.
    converted = simplified(article.text)
    if len(converted) == len(article.text):
        for mark in marks:
            pos = converted.lower().find(mark.lower())
            if pos >= 0:
                return snippet(article.text, article.text[pos : pos + len(mark)])
    for mark in marks:
        if mark.lower() in article.search_text.lower():
            return snippet(article.search_text, mark)
    return snippet(article.text, marks[0] if marks else "")


def local_published(article: Article) -> datetime | None:
    """The published time in its portal's time zone (stored in UTC; shown as the portal showed it)."""
    if article.published is None:
        return None
    try:
        tz = ZoneInfo(str(article.source.config.get("timezone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    return article.published.astimezone(tz)


def article_record(article: Article, sightings: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The export form of one article, with its story and the story's sightings when given."""
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
        "content_hash": article.content_hash,
        "charset": article.charset,
        "http_status": article.http_status,
        "first_seen": article.first_seen.isoformat(),
        "run_id": article.run_id,
        "sightings": sightings if sightings is not None else [],
        "capture": capture_record(article.capture) if article.capture else None,
        "text": article.text,
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
    for article in batch:
        yield article_record(article, sightings[article.story_id])
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
FINAL_REJECTIONS = ("not_pairing", "no_text", "duplicate", "redirected")


def known_urls(session: Session, source_id: int) -> Iterator[tuple[str, int | None, datetime]]:
    """Article URLs a source's earlier runs already settled, stored (with the article id) or rejected for
    good (id None), each with when it was last fetched."""
    newest = (
        select(ArticleRevision.article_id, func.max(ArticleRevision.fetched_at).label("fetched_at"))
        .group_by(ArticleRevision.article_id)
        .subquery()
    )
    stored = select(
        Article.url, Article.id, func.coalesce(newest.c.fetched_at, Article.first_seen)
    ).outerjoin(newest, newest.c.article_id == Article.id)
    # A re-fetch that found the text unchanged is a fetch too: later feed dates are compared with it.
    checked = (
        select(Rejection.url, func.max(Rejection.created_at).label("checked_at"))
        .where(Rejection.reason == "unchanged")
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
    stmt = select(CrawlRun).where(CrawlRun.source_id == source_id, CrawlRun.status != "running")
    if before is not None:
        stmt = stmt.where(CrawlRun.id < before)
    return session.scalars(stmt.order_by(CrawlRun.id.desc()).limit(1)).first()
