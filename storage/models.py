"""The archive's tables: sources, crawl runs, stories, their articles and sightings, and rejected pages."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.outcomes import FLAG_REASONS, WORKER_STATUSES, Reason, RunStatus


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which has no time zones) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pairchive stores aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# URLs are Text: Scrapy requests URLs of up to URLLENGTH_LIMIT (2,083) characters and follows redirects
# of any length, and an archive must take on PostgreSQL what it takes on SQLite. A URL's uniqueness is
# kept on its SHA-256 (`url_hash`), since a PostgreSQL btree index refuses entries over about 2,700 bytes.


def url_hash(url: str) -> str:
    """The key a stored URL is unique and looked up by: the SHA-256 of its UTF-8, in hex."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def _url_hash_default(context: DefaultExecutionContext) -> str:
    return url_hash(context.get_current_parameters()["url"])


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def one_of(column: str, values: Iterable[str]) -> CheckConstraint:
    """The CHECK constraint `ck_<table>_<column>` that keeps `column` to `values` (migration 0010 and its
    successors create it; a NULL passes, as a CHECK that is not false does)."""
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads it as a class attribute)
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


class Source(Base):
    """A portal as last configured; rows outlive their removal from the sources file."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    config: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    runs: Mapped[list[CrawlRun]] = relationship(back_populates="source")


class CrawlRun(Base):
    """One crawl of one source: when, why, how it ended and what came of each page."""

    __tablename__ = "crawl_runs"
    __table_args__ = (one_of("status", RunStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(20))  # cli, schedule, demo
    status: Mapped[str] = mapped_column(String(20), default=RunStatus.RUNNING)  # a RunStatus
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    exit_code: Mapped[int | None]
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    # The extraction health of its article pages and the drift verdict on it (storage.health); NULL for a
    # reprocess run, a run whose end its crawl could not write, or one made before migration 0012 (a run
    # that read no article page keeps `pages` 0 and no verdict).
    health: Mapped[dict[str, Any] | None]

    source: Mapped[Source] = relationship(back_populates="runs")
    workers: Mapped[list[RunWorker]] = relationship(
        back_populates="run", order_by="RunWorker.joined_at, RunWorker.id"
    )


class RunWorker(Base):
    """One machine's part in a distributed crawl run: when its worker joined and finished, how its crawl
    ended and what it counted. A single-machine run has no rows here; the run's own row holds the sums."""

    __tablename__ = "run_workers"
    __table_args__ = (UniqueConstraint("run_id", "worker"), one_of("status", WORKER_STATUSES))

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id"), index=True)
    worker: Mapped[str] = mapped_column(String(200))  # the worker's id: host and process id
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[str | None] = mapped_column(String(20))  # a WORKER_STATUSES; NULL while it crawls
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Its PageHealth's raw counts (pages, no_text, lengths, ...), merged over workers into the run's health.
    health_counts: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)

    run: Mapped[CrawlRun] = relationship(back_populates="workers")


class Lease(Base):
    """Who is crawling a source right now. One row per source at most: taken before a crawl starts (by the
    daemon's jobs and by `pairchive crawl` alike), renewed by a heartbeat while it runs, deleted when it
    ends. A lease whose holder died stops being renewed and, once `expires_at` has passed, is taken over."""

    __tablename__ = "leases"

    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))  # host, process id and trigger of the holder
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class Capture(Base):
    """The exact HTTP request and response of one fetched article page, kept in a WARC file (ISO 28500).

    `warc_file` is relative to the archive's WARC directory; `offset` and `length` delimit the response
    record's gzip member, `request_offset` and `request_length` the request's. `payload_digest` is the
    record's WARC-Payload-Digest (sha1, base32) of the body as received."""

    __tablename__ = "captures"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"), index=True)
    url: Mapped[str] = mapped_column(Text)  # the URL fetched (after redirects)
    http_status: Mapped[int] = mapped_column(Integer)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    warc_file: Mapped[str] = mapped_column(String(500))
    offset: Mapped[int] = mapped_column(BigInteger)
    length: Mapped[int] = mapped_column(BigInteger)
    request_offset: Mapped[int] = mapped_column(BigInteger)
    request_length: Mapped[int] = mapped_column(BigInteger)
    record_id: Mapped[str] = mapped_column(String(100))  # the response record's WARC-Record-ID
    payload_digest: Mapped[str] = mapped_column(String(100))
    # The worker of a distributed run that wrote it (its WARC file is that worker's); NULL on one machine.
    worker: Mapped[str | None] = mapped_column(String(200))


class Story(Base):
    """One reported event: the articles that tell it (copies, cut or converted re-posts) and every place
    it was seen. A story absorbed by a merge keeps its row, pointing at the story it went into."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id"), index=True)


class Article(Base):
    """One stored pairing story: the cleaned text as published, and where and when it was fetched."""

    __tablename__ = "articles"
    __table_args__ = (one_of("flag_reason", sorted(FLAG_REASONS)),)

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"), index=True)
    url: Mapped[str] = mapped_column(Text)  # canonical URL
    url_hash: Mapped[str] = mapped_column(String(64), unique=True, default=_url_hash_default)
    fetched_url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    published: Mapped[datetime | None] = mapped_column(index=True)
    author: Mapped[str | None] = mapped_column(Text)
    source_name: Mapped[str | None] = mapped_column(Text)  # originating outlet named on the page
    language: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    # The text as search and dedup read it: simplified script, widths and spaces folded (storage.normalize).
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    relevance: Mapped[float] = mapped_column(Float)
    is_pairing: Mapped[bool]
    relevance_terms: Mapped[list[Any]] = mapped_column(default=list)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    charset: Mapped[str | None] = mapped_column(String(40))
    http_status: Mapped[int] = mapped_column(Integer)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    capture_id: Mapped[int | None] = mapped_column(  # the newest revision's bytes
        ForeignKey("captures.id"), index=True
    )
    # The versions of the stages that made the text and its judgement (pipelines.page.stage_versions);
    # NULL for articles stored before versions were recorded.
    stage_versions: Mapped[dict[str, Any] | None]
    # Set when a reprocess found that today's gate rejects the stored story: it is flagged, never deleted.
    flag_reason: Mapped[str | None] = mapped_column(String(40))  # one of storage.outcomes.FLAG_REASONS
    flag_detail: Mapped[str | None] = mapped_column(Text)
    flagged_at: Mapped[datetime | None]
    flag_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))

    source: Mapped[Source] = relationship()
    capture: Mapped[Capture | None] = relationship(lazy="joined")


class Rejection(Base):
    """A page a run fetched and did not store, with the reason word and a one-line detail."""

    __tablename__ = "rejections"
    __table_args__ = (one_of("reason", Reason),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(40), index=True)  # a Reason
    detail: Mapped[str] = mapped_column(Text, default="")
    title: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    capture_id: Mapped[int | None] = mapped_column(  # a fetched page's bytes
        ForeignKey("captures.id"), index=True
    )


class ArticleRevision(Base):
    """One fetched text of an article. The first is what was stored; a recrawl that finds the cleaned
    text changed adds the next. The archive never overwrites: the article row shows the newest revision."""

    __tablename__ = "article_revisions"
    __table_args__ = (UniqueConstraint("article_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int]
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    charset: Mapped[str | None] = mapped_column(String(40))
    http_status: Mapped[int] = mapped_column(Integer)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    stage_versions: Mapped[dict[str, Any] | None]  # NULL: made before versions were recorded
    made_by: Mapped[str] = mapped_column(String(20), default="crawl", server_default="crawl")  # MADE_BY


MADE_BY = ("crawl", "recrawl", "reprocess")  # what made a revision


class ReprocessedPage(Base):
    """One raw capture a `pairchive reprocess --apply` run went through: under which stage versions,
    what came of it, and the article it concerns. The ledger that lets an interrupted reprocess resume (a
    capture done under the current versions is not done again) and the history of every flag."""

    __tablename__ = "reprocessed_pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"), index=True)
    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))  # relevance, all
    # As canonical JSON text (sorted keys), compared for equality: a JSON column cannot be on PostgreSQL.
    stage_versions: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(20))  # new_story, copy, revised, flagged, unflagged, ...
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Sighting(Base):
    """A URL where a story was seen: the article fetched there, or a copy of a stored article's text.
    One row per canonical URL; `last_seen` moves on each time a crawl meets it again."""

    __tablename__ = "sightings"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    url: Mapped[str] = mapped_column(Text)  # canonical URL
    url_hash: Mapped[str] = mapped_column(String(64), unique=True, default=_url_hash_default)
    fetched_url: Mapped[str] = mapped_column(Text)
    copy: Mapped[bool] = mapped_column(
        default=False
    )  # an exact copy of `article_id`'s text, not stored again
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))

    source: Mapped[Source] = relationship()


class StoryMerge(Base):
    """A story absorbed into another, because an article was a near copy of both."""

    __tablename__ = "story_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)  # the absorbed story
    into_story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    similarity: Mapped[float] = mapped_column(Float)
    merged_at: Mapped[datetime] = mapped_column(default=utcnow)


class MinhashBand(Base):
    """The LSH band keys of an article's text (pipelines.minhash): near-copy candidates are found by
    looking these up, never by scanning the archive."""

    __tablename__ = "minhash_bands"

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)


class PairingRelation(Base):
    """Who pairs with whom: two sides, one row however many stories, copies and sentences report it
    (pairing_evidence), and the kind of programme most of them name. A side is a place (its division code where the gazetteer
    resolved it, else as written, and a town under it), named schools, or both; the two sides are kept in
    the order of their keys, so A-with-B and B-with-A are one relation."""

    __tablename__ = "pairing_relations"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the sides' keys
    kind: Mapped[str] = mapped_column(String(40), index=True)  # the kind most of its evidence names
    a_code: Mapped[str | None] = mapped_column(String(6), index=True)  # six-digit division code
    a_place: Mapped[str] = mapped_column(Text)  # as written; '' where the side names only schools
    a_town: Mapped[str | None] = mapped_column(Text)
    a_schools: Mapped[list[Any]] = mapped_column(default=list)
    b_code: Mapped[str | None] = mapped_column(String(6), index=True)
    b_place: Mapped[str] = mapped_column(Text)
    b_town: Mapped[str | None] = mapped_column(Text)
    b_schools: Mapped[list[Any]] = mapped_column(default=list)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)


class PairingEvidence(Base):
    """One sentence of one stored article that states a relation: what it says of each side (counts,
    roles) in the relation's order of sides, the year where stated, and where it is in the text."""

    __tablename__ = "pairing_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    relation_id: Mapped[int] = mapped_column(
        ForeignKey("pairing_relations.id", ondelete="CASCADE"), index=True
    )
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # the kind of programme this sentence names
    a_count: Mapped[int | None] = mapped_column(Integer)  # schools on side a, where a number is given
    b_count: Mapped[int | None] = mapped_column(Integer)
    a_role: Mapped[str | None] = mapped_column(String(10))  # helper or helped, where the sentence says
    b_role: Mapped[str | None] = mapped_column(String(10))
    year: Mapped[int | None] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(Integer)  # the sentence: articles.text[start:end]
    end: Mapped[int] = mapped_column(Integer)
    sentence: Mapped[str] = mapped_column(Text)
    reader: Mapped[str] = mapped_column(String(40))  # the version of the reader that found it

    relation: Mapped[PairingRelation] = relationship()
