"""Search of the archive: the one query function behind `pairchive search`, for SQLite and PostgreSQL.

The query is parsed by storage.fulltext into an OR of ANDs of terms and looked up in the dialect's index
(FTS5 on SQLite, a tsvector GIN index on PostgreSQL). A one-character Han term (校) is not in a bigram
index: it is matched as a substring of the search form, and the rest of the query still uses the index
to find candidates, so a query mixing both gives the same answers as an exhaustive scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    any_,
    bindparam,
    column,
    func,
    literal_column,
    not_,
    or_,
    select,
    table,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from storage.fulltext import Query, Term, fts5_match, highlight_terms, parse, relaxed, tsquery
from storage.models import Article, Source
from storage.normalize import simplified
from storage.queries import escape_like, local_published, zone_of

# Ranking by relevance weighs every match, so a word found in half a million stories would cost a second.
# Relevance is therefore decided among the RANK_WINDOW most recently stored matches (all of them when there
# are fewer); when filters leave fewer hits than asked for there, the window widens until they are found or
# every match has been looked at. Date order is exact.
RANK_WINDOW = 2000
COUNT_BATCH = 500  # rows a dated count reads at a time
# A stored time is UTC; the day asked for is the portal's own. No zone is further than this from UTC, so
# the database narrows by UTC with this margin and the portal's day decides each row.
ZONE_MARGIN = timedelta(hours=14)

NEWEST = (Article.published.desc().nulls_last(), Article.id.desc())  # newest first; undated last
FTS = table("articles_fts", column("rowid"))
PG_INDEX = table("article_search", column("article_id"), column("tokens"))


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
    offset: int = 0,
) -> list[Hit]:
    """Stories matching `query` (storage.fulltext: words, "phrases", AND/OR/NOT, either script), best
    first or newest first (`sort="date"`); `offset` hits skipped first (a further page).

    Raises QueryError (one line) for a query with nothing to search for, or one too large to search.
    """
    asked_for = _Statement.of(session, query, source, language, since, until, pairing_only)
    parsed, indexed, dialect, filtered = (
        asked_for.parsed,
        asked_for.indexed,
        asked_for.dialect,
        asked_for.filtered,
    )
    marks = highlight_terms(parsed)
    wanted = offset + limit  # the hits before the page decide where it starts; only its own get snippets
    if indexed is None:  # an alternative with no indexed word: a scan of every story, newest first
        rows = _rows(session, filtered.order_by(*NEWEST), wanted, since, until)
        return _as_hits(rows[offset:], marks)
    stmt, rank, floor = _joined(filtered, indexed, dialect)
    asked = _Asked(session, indexed, floor, dialect, wanted, since, until)
    rows = (
        _newest_rows(asked, filtered, stmt)
        if sort == "date"
        else _best_rows(asked, stmt.order_by(rank, *NEWEST))
    )
    return _as_hits(rows[offset:], marks)


def count(
    session: Session,
    query: str,
    *,
    source: str | None = None,
    language: str | None = None,
    since: date | None = None,
    until: date | None = None,
    pairing_only: bool = False,
    cap: int = 1000,
) -> int:
    """How many stories `search` would find with these filters, counted up to `cap` (a word in half the
    archive is not counted to the end: `cap + 1` means more than `cap`). Raises QueryError as `search`."""
    asked_for = _Statement.of(session, query, source, language, since, until, pairing_only, index_first=True)
    stmt = asked_for.filtered
    if asked_for.indexed is not None:
        stmt = _joined(stmt, asked_for.indexed, asked_for.dialect)[0]
    if not (since or until):
        ids = stmt.with_only_columns(Article.id).limit(cap + 1).subquery()
        return int(session.scalar(select(func.count()).select_from(ids)) or 0)
    # The database narrows by UTC with a margin; each row's own portal day decides, as in `search`.
    found = 0
    zones: dict[int, Any] = {}
    # Streamed a batch at a time: the loop stops after `cap`, and a common word's matches within the
    # margin are not all loaded first (34,119 rows of a million stories took 9.7 s; streamed, 0.3 s).
    columns = stmt.with_only_columns(Article.published, Article.source_id, Source.config)
    rows = session.execute(columns.execution_options(yield_per=COUNT_BATCH))
    try:
        for published, source_id, config in rows:
            if source_id not in zones:
                zones[source_id] = zone_of(config)
            day = published.astimezone(zones[source_id]).date() if published else None
            if day is None or (since and day < since) or (until and day > until):
                continue
            found += 1
            if found > cap:
                break
    finally:
        rows.close()
    return found


@dataclass(frozen=True)
class _Statement:
    """A query parsed and its filters as one statement over articles and their source's name, before the
    index is joined."""

    parsed: Query
    indexed: Query | None
    dialect: str
    filtered: Any

    @classmethod
    def of(
        cls,
        session: Session,
        query: str,
        source: str | None,
        language: str | None,
        since: date | None,
        until: date | None,
        pairing_only: bool,
        *,
        index_first: bool = False,
    ) -> _Statement:
        parsed = parse(query)
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            # These are short lookups; compiling them to machine code (JIT, for plans the planner thinks
            # costly) took longer than running them.
            session.execute(sql_text("SET LOCAL jit = off"))
        indexed = _indexed_part(parsed)
        # `index_first`: the join written so that no index on articles.source_id can drive it, and SQLite
        # starts from the full-text index (a source's every article probed in the index was 1.5 s at 1M).
        source_id = Article.source_id + 0 if index_first else Article.source_id
        filtered = select(Article, Source.name).join(Source, source_id == Source.id)
        conditions = _filters(source, language, since, until, pairing_only)
        if indexed is not parsed:
            conditions.append(_exact(parsed, dialect))  # the one-character terms, and the query around them
        return cls(parsed, indexed, dialect, filtered.where(*conditions))


@dataclass(frozen=True)
class _Asked:
    """One search as its parts need it: the indexed query and its dialect, the indexed id column (bounded
    to the ranking window), and how many hits published within which days."""

    session: Session
    indexed: Query
    floor: Any
    dialect: str
    limit: int
    since: date | None
    until: date | None

    def rows(self, stmt: Any) -> list[tuple[Article, str]]:
        return _rows(self.session, stmt, self.limit, self.since, self.until)

    def window_floor(self, window: int) -> int | None:
        return _window_floor(self.session, self.indexed, self.dialect, window)

    def window(self, size: int) -> tuple[int, Any] | None:
        """The ranking window of `size` matches: its floor and the condition that keeps a row to it;
        None when there are no more matches than that (then all are ranked).

        On PostgreSQL the condition is the window's ids themselves: a bound on the id lets its planner
        walk the id index backwards and check every row on the way (a TOAST read each, a tenfold
        more rows than matches for a word in one story in ten); a list of ids is looked up directly."""
        if self.dialect != "postgresql":
            lowest = self.window_floor(size)
            return None if lowest is None else (lowest, self.floor >= lowest)
        ids = _recent_matches(self.session, self.indexed, size)
        if ids is None:
            return None
        listed = bindparam("window_ids", ids, type_=ARRAY(Integer))
        return ids[-1], PG_INDEX.c.article_id == any_(listed)


def _joined(filtered: Any, indexed: Query, dialect: str) -> tuple[Any, Any, Any]:
    """The statement joined to the dialect's index and limited to the matches; its rank order; the
    indexed article-id column (to bound to the ranking window)."""
    if dialect == "sqlite":
        stmt = filtered.join(FTS, FTS.c.rowid == Article.id).where(_matches(indexed, dialect))
        return stmt, literal_column("bm25(articles_fts)").asc(), FTS.c.rowid
    tsq = func.to_tsquery("simple", tsquery(indexed))
    stmt = filtered.join(PG_INDEX, PG_INDEX.c.article_id == Article.id).where(PG_INDEX.c.tokens.op("@@")(tsq))
    return stmt, func.ts_rank(PG_INDEX.c.tokens, tsq).desc(), PG_INDEX.c.article_id


def _best_rows(asked: _Asked, ranked: Any) -> list[tuple[Article, str]]:
    """Best first, ranked among the most recently stored matches; the window widens when too few of
    them pass the filters."""
    window = RANK_WINDOW
    while True:
        bound = asked.window(window)
        rows = asked.rows(ranked if bound is None else ranked.where(bound[1]))
        if bound is None or len(rows) >= asked.limit:
            return rows
        window *= 8


def _newest_rows(asked: _Asked, filtered: Any, stmt: Any) -> list[tuple[Article, str]]:
    """Newest first, exactly."""
    if asked.dialect == "postgresql":
        return _newest_recent_first(asked, stmt)
    lowest = asked.window_floor(RANK_WINDOW)
    if lowest is None:  # few matches: sort them all
        return asked.rows(stmt.order_by(*NEWEST))
    if asked.dialect == "sqlite":
        # Many matches: walk the articles newest first (the published index) and keep those in the
        # match set, rather than sorting every match. `+ 0` keeps the planner off the id lookup.
        walk = filtered.where((Article.id + 0).in_(_matching_ids(asked.indexed, asked.dialect)))
        return asked.rows(walk.order_by(*NEWEST))
    raise AssertionError(asked.dialect)


def _filters(
    source: str | None, language: str | None, since: date | None, until: date | None, pairing_only: bool
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if source:
        conditions.append(Source.name == source)
    if language:
        conditions.append(
            or_(
                Article.language == language,
                Article.language.like(f"{escape_like(language)}-%", escape="\\"),
            )
        )
    if since:
        conditions.append(Article.published >= datetime.combine(since, time(0), UTC) - ZONE_MARGIN)
    if until:
        conditions.append(
            Article.published < datetime.combine(until, time(0), UTC) + timedelta(days=1) + ZONE_MARGIN
        )
    if pairing_only:
        conditions.append(Article.is_pairing.is_(True))
    return conditions


def _single_han(term: Term) -> bool:
    """A one-character Han term: the bigram index cannot look it up."""
    return len(term.tokens) == 1 and len(term.tokens[0]) == 1 and not term.tokens[0].isascii()


def _indexed_part(parsed: Query) -> Query | None:
    """What the index can answer: the query itself when it has no one-character term; else each
    alternative without those terms (a superset of the answers, narrowed by `_exact`); None when some
    alternative has no indexed word left, so only a scan can answer it."""
    if not any(_single_han(t) for group in parsed.groups for t in group):
        return parsed
    groups = []
    for group in parsed.groups:
        kept = tuple(t for t in group if not _single_han(t))
        if not any(not t.negated for t in kept):
            return None
        groups.append(kept)
    return Query(tuple(groups))


def _exact(parsed: Query, dialect: str) -> ColumnElement[bool]:
    """The whole query as a condition on each story: one-character terms as substrings of the search form
    (or title), the rest of each alternative through the index."""
    alternatives = []
    for group in parsed.groups:
        conditions: list[ColumnElement[bool]] = []
        for term in group:
            if _single_han(term):
                conditions.append(not_(_contains(term)) if term.negated else _contains(term))
        indexed = tuple(t for t in group if not _single_han(t))
        if any(not t.negated for t in indexed):
            conditions.append(Article.id.in_(_matching_ids(Query((indexed,)), dialect)))
        else:
            for term in indexed:  # only exclusions left beside the one-character terms
                alone = Query(((Term(term.tokens),),))
                conditions.append(Article.id.not_in(_matching_ids(alone, dialect)))
        alternatives.append(and_(*conditions))
    return or_(*alternatives)


def _contains(term: Term) -> ColumnElement[bool]:
    pattern = f"%{escape_like(term.tokens[0])}%"
    return or_(Article.search_text.ilike(pattern, escape="\\"), Article.title.ilike(pattern, escape="\\"))


def _matches(query: Query, dialect: str) -> ColumnElement[bool]:
    """The index condition for `query`, with its own bound parameter (one statement may hold several)."""
    if dialect == "sqlite":
        return literal_column("articles_fts").op("MATCH")(fts5_match(query))
    return PG_INDEX.c.tokens.op("@@")(func.to_tsquery("simple", tsquery(query)))


def _matching_ids(query: Query, dialect: str) -> Any:
    # Never correlated: the outer statement may join the same index table for ranking.
    if dialect == "sqlite":
        return select(FTS.c.rowid).where(_matches(query, dialect)).correlate(None)
    return select(PG_INDEX.c.article_id).where(_matches(query, dialect)).correlate(None)


def _window_floor(session: Session, parsed: Query, dialect: str, window: int) -> int | None:
    """The lowest article id among the `window` most recently stored matches, or None when there are no
    more matches than that (then all are ranked). The index hands out matches newest first cheaply.

    It is taken over the relaxed query (phrases without their word order): on PostgreSQL checking a
    phrase reads each candidate's positions from the table, and a bound needs no exactness. The floor
    of more matches is only higher, so the window holds fewer exact matches, never other ones; too few
    widen it."""
    ids = _matching_ids(relaxed(parsed), dialect)
    newest_first = ids.selected_columns[0].desc()
    found = session.execute(ids.order_by(newest_first).limit(1).offset(window - 1)).first()
    return None if found is None else int(found[0])


def _recent_matches(session: Session, parsed: Query, window: int) -> list[int] | None:
    """PostgreSQL: the ids of the `window` most recently stored matches of the relaxed query (as
    _window_floor), newest first, or None when there are no more matches than that.

    The GIN index hands out matches in no order, and gathering every match of a word found in a quarter
    of the stories, then sorting them, costs more than the rest of the search. So the matches are taken
    within the newest ids first (the index's matches intersected with a range of the id index, a bitmap
    AND, reading only the rows of that range that match), and the range widens until it holds the
    window, by the density of matches found so far."""
    ids = PG_INDEX.c.article_id
    top = session.execute(select(func.max(ids))).scalar()
    if top is None:
        return None
    matches = _matches(relaxed(parsed), "postgresql")
    span = window * 16
    # The planner prefers walking the id index backwards (it does not count the TOAST read of each
    # row it checks); only the bitmap plans read no row that does not match.
    session.execute(sql_text("SET LOCAL enable_indexscan = off"))
    try:
        while True:
            lowest = top - span
            cond = matches if lowest <= 0 else and_(matches, ids > lowest)
            found = list(
                session.execute(select(ids).where(cond).order_by(ids.desc()).limit(window)).scalars()
            )
            if len(found) == window:
                return found
            if lowest <= 0:
                return None
            span = span * 8 if not found else max(span * 2, span * window * 3 // (2 * len(found)))
    finally:
        session.execute(sql_text("SET LOCAL enable_indexscan TO DEFAULT"))


def _newest_recent_first(asked: _Asked, stmt: Any) -> list[tuple[Article, str]]:
    """PostgreSQL, newest first among many matches, exactly, without sorting every match.

    Its planner will not walk the published index and probe the match set as SQLite does; it gathers
    every match first. So: the newest among the most recently stored matches (the ranking window), then
    the older-stored matches published after the last of those (a narrow range of the published index:
    a story stored late, a back-filled archive), merged."""
    window = RANK_WINDOW
    bound = asked.window(window)
    if bound is None:  # few matches: sort them all
        return asked.rows(stmt.order_by(*NEWEST))
    while True:
        lowest, in_window = bound
        recent = asked.rows(stmt.where(in_window).order_by(*NEWEST))
        if len(recent) == asked.limit and recent[-1][0].published is not None:
            last = recent[-1][0]
            later = or_(
                Article.published > last.published,
                and_(Article.published == last.published, Article.id > last.id),
            )
            older = asked.rows(stmt.where(asked.floor < lowest, later).order_by(*NEWEST))
            return sorted(recent + older, key=lambda row: _newest_key(row[0]))[: asked.limit]
        window *= 8
        wider = asked.window(window)
        if wider is None:  # the window now holds every match
            return asked.rows(stmt.order_by(*NEWEST))
        bound = wider


def _newest_key(article: Article) -> tuple[bool, float, int]:
    """NEWEST as a sort key in Python: published descending with the undated last, then id descending."""
    published = article.published
    return (published is None, -published.timestamp() if published else 0.0, -article.id)


def _rows(
    session: Session, stmt: Any, limit: int, since: date | None, until: date | None
) -> list[tuple[Article, str]]:
    """The first `limit` rows of `stmt` published within [since, until] in their portal's own zone.

    The database narrowed by UTC with a margin; rows in the margin but outside the portal's day are
    skipped, and further pages are read until `limit` rows are found or the rows run out."""
    page = limit * 2 if since or until else limit
    kept: list[tuple[Article, str]] = []
    offset = 0
    while True:
        rows = session.execute(stmt.limit(page).offset(offset)).all()
        for article, name in rows:
            day = local_published(article)
            if (since and (day is None or day.date() < since)) or (
                until and (day is None or day.date() > until)
            ):
                continue
            kept.append((article, name))
            if len(kept) == limit:
                return kept
        if len(rows) < page:
            return kept
        offset += page


def _as_hits(rows: list[tuple[Article, str]], marks: list[str]) -> list[Hit]:
    hits = []
    for article, name in rows:
        day = local_published(article)
        hits.append(
            Hit(
                id=article.id,
                title=article.title,
                source=name,
                published=day.isoformat() if day else None,
                language=article.language,
                relevance=article.relevance,
                url=article.url,
                snippet=_snippet(article, marks),
            )
        )
    return hits


def snippet(text: str, term: str, width: int = 40) -> str:
    """The text around the first occurrence of `term` (case-insensitive), marked with [ ]."""
    pos = text.lower().find(term.lower())
    if pos < 0:
        return text[: 2 * width].replace("\n", " ")
    start, end = max(0, pos - width), pos + len(term) + width
    # a cut inside a Latin word moves to the space before it (the text keeps its words whole)
    if 0 < start < pos and _inside_word(text, start):
        space = text.find(" ", start, pos)
        start = space + 1 if space >= 0 else start
    if pos + len(term) < end < len(text) and _inside_word(text, end):
        space = text.rfind(" ", pos + len(term), end)
        end = space if space >= 0 else end
    found = text[pos : pos + len(term)]
    out = f"{text[start:pos]}[{found}]{text[pos + len(term) : end]}".replace("\n", " ")
    return ("…" if start else "") + out + ("…" if end < len(text) else "")


def _inside_word(text: str, cut: int) -> bool:
    """Whether a cut before `text[cut]` splits a word of Latin letters or digits."""
    return text[cut - 1].isascii() and text[cut - 1].isalnum() and text[cut].isascii() and text[cut].isalnum()


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


def months(
    session: Session,
    query: str | None = None,
    *,
    source: str | None = None,
    language: str | None = None,
    pairing_only: bool = False,
) -> list[tuple[str | None, int]]:
    """Stories per month of publication (`YYYY-MM`, UTC), oldest first, undated (None) last: of the whole
    archive, or of a search's matches (`query`, the same filters as `search`). A story is counted once a
    month, however many of its copies were published in it."""
    dialect = session.get_bind().dialect.name
    if query is None:
        stmt = select(Article.id).join(Source, Article.source_id == Source.id)
        stmt = stmt.where(*_filters(source, language, None, None, pairing_only))
    else:
        asked_for = _Statement.of(session, query, source, language, None, None, pairing_only)
        stmt = asked_for.filtered
        if asked_for.indexed is not None:
            stmt = _joined(stmt, asked_for.indexed, dialect)[0]
    month = (
        func.to_char(func.timezone("UTC", Article.published), "YYYY-MM")
        if dialect == "postgresql"
        else func.strftime("%Y-%m", Article.published)
    ).label("month")
    counted = (
        stmt.with_only_columns(month, func.count(func.distinct(Article.story_id)))
        .group_by(month)
        .order_by(month.is_(None), month)
    )
    return [(m, int(n)) for m, n in session.execute(counted)]
