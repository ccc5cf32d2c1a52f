"""Storage on SQLite and PostgreSQL alike: schema, aware datetimes, one row per story, search, export."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.orm import Session

from storage.archive import finish_run, insert_article, record_rejection, start_run, upsert_sources
from storage.db import close_all, open_for_writing
from storage.errors import StorageError
from storage.fulltext import INDEX_TABLES, QueryError, is_index_table
from storage.models import Article, ArticleRevision, Base, CrawlRun
from storage.outcomes import Reason
from storage.queries import iter_articles, rejection_counts
from storage.search import search

SHANGHAI = timezone(timedelta(hours=8))


def _article(source_id: int, run_id: int, n: int, **over: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "source_id": source_id,
        "run_id": run_id,
        "url": f"http://portal.example/edu/{n}.html",
        "fetched_url": f"http://portal.example/edu/{n}.html?utm_source=feed",
        "title": f"湖里区学校结对共建 {n}",
        "published": datetime(2022, 6, 16, 10, 30, tzinfo=SHANGHAI),
        "author": None,
        "source_name": "厦门网",
        "language": "zh-Hans",
        "text": f"两地学校结对帮扶，100% 的学校参与 (第{n}篇)。",
        "relevance": 1.0,
        "is_pairing": True,
        "relevance_terms": [{"term": "结对", "count": 1}],
        "content_hash": f"{n:064d}",
        "charset": "utf-8",
        "http_status": 200,
        "first_seen": datetime(2022, 6, 17, tzinfo=UTC),
    }
    values.update(over)
    return values


def _setup(db_url: str) -> tuple[Any, int, int]:
    sessions = open_for_writing(db_url).sessions
    with sessions.begin() as s:
        ids = upsert_sources(s, [{"name": "p", "title": "Portal"}])
        run_id = start_run(s, ids["p"], "cli")
    return sessions, ids["p"], run_id


def test_migrations_create_the_schema_the_models_describe(db_url: str) -> None:
    engine = open_for_writing(db_url).engine
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # the full-text index is dialect-specific DDL of its own (storage.fulltext), not a model
    diff = [
        d
        for d in diff
        if not (d[0] == "remove_table" and is_index_table(d[1].name))
        and not (d[0] == "remove_index" and is_index_table(d[1].table.name))
    ]
    assert diff == []


def test_opening_twice_does_not_migrate_again(db_url: str) -> None:
    open_for_writing(db_url)
    engine = open_for_writing(db_url).engine
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from alembic_version")).scalar() == 1


def test_published_dates_come_back_aware_and_equal(db_url: str) -> None:
    sessions, source_id, run_id = _setup(db_url)
    with sessions.begin() as s:
        article_id = insert_article(s, _article(source_id, run_id, 1))
    with sessions() as s:
        article = s.get(Article, article_id)
        assert article is not None and article.published is not None
        assert article.published == datetime(2022, 6, 16, 10, 30, tzinfo=SHANGHAI)
        assert article.published.tzinfo is not None


def test_naive_datetimes_are_refused(db_url: str) -> None:
    sessions, source_id, run_id = _setup(db_url)
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), sessions.begin() as s:
        insert_article(s, _article(source_id, run_id, 1, published=datetime(2022, 6, 16)))


def test_same_url_or_same_text_is_stored_once(db_url: str) -> None:
    sessions, source_id, run_id = _setup(db_url)
    with sessions.begin() as s:
        assert insert_article(s, _article(source_id, run_id, 1)) is not None
        assert insert_article(s, _article(source_id, run_id, 2, url=_article(0, 0, 1)["url"])) is None
        assert insert_article(s, _article(source_id, run_id, 3, content_hash=f"{1:064d}")) is None
    with sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Article)) == 1


def test_chinese_substring_search_finds_the_story(db_url: str) -> None:
    sessions, source_id, run_id = _setup(db_url)
    with sessions.begin() as s:
        insert_article(s, _article(source_id, run_id, 1))
    with sessions() as s:
        (hit,) = search(s, "结对")
        assert hit.source == "p" and "[结对]" in hit.snippet


def test_search_is_script_insensitive(db_url: str) -> None:
    from storage.normalize import search_form

    sessions, source_id, run_id = _setup(db_url)
    traditional = "湖里區16所學校與閩寧鎮學校結對共建，教師交流。"
    simplified = "思明区学校与临夏县学校结对帮扶，教师交流。"
    with sessions.begin() as s:
        insert_article(
            s, _article(source_id, run_id, 1, text=traditional, search_text=search_form(traditional))
        )
        insert_article(
            s, _article(source_id, run_id, 2, text=simplified, search_text=search_form(simplified))
        )
    with sessions() as s:
        assert sorted(h.id for h in search(s, "结对")) == [1, 2]
        assert sorted(h.id for h in search(s, "結對")) == [1, 2]
        (hit,) = search(s, "闽宁镇")
        assert hit.id == 1 and "[閩寧鎮]" in hit.snippet  # marked in the script it was published in


@pytest.mark.parametrize(
    "query, found",
    [
        ("100%", [1]),  # the number is a word; % is punctuation
        ("'; DROP TABLE articles; --", []),
        ('"结对" OR 1=1', [1]),  # OR is an operator, 1=1 two words
        ('结对" AND "x', []),  # an unclosed quote is a phrase
        ("NEAR(结对 帮扶)", []),  # FTS5 syntax is text here
        ("articles_fts MATCH '*'", []),
        ("结对 -教育局", [1]),
        ("结对 -第1篇", []),
        ('结对 -"第1篇"', []),
        ("结对 - 帮扶", [1]),  # a dash standing alone, as in "2022 - 2023", is punctuation
        ("结对 - 第1篇", [1]),
        ("结对 - 教育局", []),
        ('结对 - "第1篇"', [1]),
    ],
)
def test_hostile_queries_are_searched_as_text(db_url: str, query: str, found: list[int]) -> None:
    sessions, source_id, run_id = _setup(db_url)
    with sessions.begin() as s:
        insert_article(s, _article(source_id, run_id, 1))
    with sessions() as s:
        assert [h.id for h in search(s, query)] == found
        assert s.scalar(sa.select(sa.func.count()).select_from(Article)) == 1


@pytest.mark.parametrize("query", ["_", "\\", "", "AND OR NOT", "-结对", "(结对"])
def test_queries_with_nothing_to_search_are_a_clear_error(db_url: str, query: str) -> None:
    from storage.fulltext import QueryError

    sessions, _, _ = _setup(db_url)
    with sessions() as s, pytest.raises(QueryError):
        search(s, query)


def test_search_flags_filter_and_sort(db_url: str) -> None:
    from datetime import date

    sessions, source_id, run_id = _setup(db_url)
    with sessions.begin() as s:
        insert_article(
            s, _article(source_id, run_id, 1, published=datetime(2022, 6, 16, 10, tzinfo=SHANGHAI))
        )
        insert_article(
            s,
            _article(
                source_id, run_id, 2, published=datetime(2022, 9, 1, 8, tzinfo=SHANGHAI), language="zh-Hant",
                text="兩地學校結對幫扶，結對結對，教師交流。", is_pairing=False,
            ),
        )  # fmt: skip
    with sessions() as s:
        assert [h.id for h in search(s, "结对")] == [2, 1]  # more matches rank first
        assert [h.id for h in search(s, "结对", sort="date")] == [2, 1]
        assert [h.id for h in search(s, "结对", pairing_only=True)] == [1]
        assert [h.id for h in search(s, "结对", language="zh-Hans")] == [1]
        assert [h.id for h in search(s, "结对", language="zh")] == [2, 1]
        assert [h.id for h in search(s, "结对", since=date(2022, 7, 1))] == [2]
        assert [h.id for h in search(s, "结对", until=date(2022, 6, 16))] == [1]
        assert [h.id for h in search(s, "结对", source="nope")] == []
        assert [h.id for h in search(s, "校")] == [1, 2] or [h.id for h in search(s, "校")] == [2, 1]


def test_relevance_is_ranked_among_the_newest_matches_and_filters_widen_the_window(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A word found in very many stories is ranked among the RANK_WINDOW most recently stored matches (here
    3), so the cost does not grow with the archive; a filter that leaves too few hits there widens it."""
    monkeypatch.setattr("storage.search.RANK_WINDOW", 3)
    sessions, source_id, run_id = _setup(db_url)
    with sessions.begin() as s:
        other = upsert_sources(s, [{"name": "q", "title": "Other"}])["q"]
        insert_article(
            s, _article(other, run_id, 1, text="结对结对结对结对，两地学校结对帮扶。")
        )  # the best, oldest
        for n in range(2, 7):
            insert_article(s, _article(source_id, run_id, n))
    with sessions() as s:
        hits = [h.id for h in search(s, "结对", limit=3)]
        assert len(hits) == 3 and set(hits) <= {4, 5, 6}  # the three newest; the best (oldest) is outside
        assert search(s, "结对", limit=10)[0].id == 1  # asking for more ranks them all
        assert [h.id for h in search(s, "结对", source="q", limit=3)] == [1]  # found past the window
        assert [h.id for h in search(s, "结对", sort="date", limit=3)] == [6, 5, 4]


def test_newest_first_among_many_matches_is_exact_for_stories_stored_late(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With more matches than the window (here 3), newest first is still exact: a story stored first but
    published last comes first, undated stories come last, and day filters still apply."""
    monkeypatch.setattr("storage.search.RANK_WINDOW", 3)
    sessions, source_id, run_id = _setup(db_url)
    with sessions.begin() as s:
        insert_article(s, _article(source_id, run_id, 1, published=datetime(2023, 3, 1, tzinfo=UTC)))
        insert_article(s, _article(source_id, run_id, 2, published=None))
        for n in range(3, 9):
            insert_article(s, _article(source_id, run_id, n, published=datetime(2022, 6, n, tzinfo=UTC)))
    with sessions() as s:
        assert [h.id for h in search(s, "结对", sort="date", limit=3)] == [1, 8, 7]
        assert [h.id for h in search(s, "结对", sort="date", limit=8)] == [1, 8, 7, 6, 5, 4, 3, 2]
        assert [h.id for h in search(s, "两地学校", sort="date", limit=2)] == [1, 8]  # a phrase
        until = search(s, "结对", sort="date", limit=2, until=date(2022, 6, 6))
        assert [h.id for h in until] == [6, 5]


@pytest.mark.parametrize("script", ["han", "latin"])
def test_a_very_long_story_is_stored_and_found_on_both_databases(db_url: str, script: str) -> None:
    """PostgreSQL's tsvector holds at most 1 MB: a page of 200,000 different characters, or of 80,000
    different long words, is stored whole and found by a word near its start (on PostgreSQL its leading
    tokens are indexed)."""
    import random
    import string

    from storage.normalize import search_form

    rng = random.Random(0)
    if script == "han":
        body = "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(200_000))
    else:
        body = " ".join("".join(rng.choices(string.ascii_lowercase, k=16)) for _ in range(80_000))
    text = "两地学校结对帮扶。" + body
    sessions, source_id, run_id = _setup(db_url)
    with sessions.begin() as s:
        assert insert_article(s, _article(source_id, run_id, 1, text=text, search_text=search_form(text)))
    with sessions() as s:
        (hit,) = search(s, "结对帮扶")
        assert hit.id == 1
        stored = s.scalars(sa.select(Article.text)).one()
    assert stored == text


def _insert_texts(db_url: str, texts: list[str]) -> Any:
    from storage.normalize import search_form

    sessions, source_id, run_id = _setup(db_url)
    with sessions.begin() as s:
        for n, text in enumerate(texts, 1):
            insert_article(
                s, _article(source_id, run_id, n, title=f"报道 {n}", text=text, search_text=search_form(text))
            )
    return sessions


@pytest.mark.parametrize(
    "query, found",
    [
        ("校", [1, 2]),
        ("校 结对", [1]),
        ("结对 校", [1]),
        ("校 OR 手拉手", [1, 2, 3]),
        ("手拉手 OR 校", [1, 2, 3]),
        ("结对 -校", [3]),
        ("校 -结对", [2]),
        ("校 -园", [1]),
        ("(校 OR 园) 两地", [1]),
        ('"结对" 校', [1]),
    ],
)
def test_one_character_terms_keep_the_rest_of_the_query(
    db_url: str, query: str, found: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = _insert_texts(
        db_url,
        ["两地学校结对帮扶，教师交流。", "幼儿园与小学校长座谈。", "手拉手结对活动在社区举行。"],
    )
    for window in (2000, 1):  # all matches ranked at once, and a window that must widen
        monkeypatch.setattr("storage.search.RANK_WINDOW", window)
        with sessions() as s:
            assert sorted(h.id for h in search(s, query, limit=10)) == found, window
            assert sorted(h.id for h in search(s, query, sort="date", limit=10)) == found, window


def test_a_day_filter_finds_hits_behind_many_stories_just_outside_the_portal_day(db_url: str) -> None:
    """Stored times are UTC and the day is the portal's (UTC+8 here): stories early on 17 June in
    Shanghai are 16 June in UTC, so the database cannot drop them; they must not crowd out the one hit."""
    sessions, source_id, run_id = _setup(db_url)
    with sessions.begin() as s:
        upsert_sources(s, [{"name": "p", "title": "Portal", "timezone": "Asia/Shanghai"}])
        insert_article(s, _article(source_id, run_id, 1, published=datetime(2022, 6, 16, 9, tzinfo=SHANGHAI)))
        for n in range(2, 60):
            published = datetime(2022, 6, 17, 6, tzinfo=SHANGHAI) + timedelta(minutes=n)
            insert_article(s, _article(source_id, run_id, n, published=published))
    with sessions() as s:
        for sort in ("relevance", "date"):
            hits = search(s, "结对", until=date(2022, 6, 16), sort=sort, limit=5)
            assert [h.id for h in hits] == [1], sort
            assert hits[0].published == "2022-06-16T09:00:00+08:00"
        assert len(search(s, "结对", since=date(2022, 6, 17), limit=100)) == 58


@pytest.mark.parametrize(
    "query, reason",
    [
        ("(" * 3000, "longer than"),
        ("(" * 20 + "结对" + ")" * 20, "nests parentheses"),
        (" ".join(f"(甲{n} OR 乙{n})" for n in range(16)), "alternatives"),
        ("结对 " + " ".join(f"-词{n:03d}" for n in range(100)), "more than 64 words"),
        (" OR ".join(f"词{n:02d}" for n in range(65)), "more than 64 words"),
        ("结对 OR -帮扶", "only excludes"),
        ("NOT (结对 帮扶)", "NOT before parentheses"),
        ("结对 帮扶)", "unbalanced"),
    ],
)
def test_queries_too_large_or_malformed_are_refused_in_one_line(db_url: str, query: str, reason: str) -> None:
    sessions, _, _ = _setup(db_url)
    with sessions() as s, pytest.raises(QueryError, match=reason) as caught:
        search(s, query)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "query, found",
    [
        ("title:结对", []),  # an FTS5 column filter is two words here, and no story says "title"
        ("结对*", [1]),
        ("* 结对", [1]),
        ("结对 ^帮扶", [1]),
        ("结对 " + " ".join(f"-词{n:02d}" for n in range(60)), [1]),  # many exclusions, no parser overflow
        ("结对 -帮扶 -交流", []),
        # 10 words multiplying out to 32 alternatives: a real question, not refused
        ("(结对 OR 帮扶 OR 共建 OR 手拉手) (学校 OR 幼儿园 OR 小学 OR 中学) (教师 OR 学生)", [1]),
        ("(结对 OR 手拉手 OR 共建 OR 联盟) " + " ".join(f"-词{n:02d}" for n in range(16)), [1]),
    ],
)
def test_fts_syntax_and_long_exclusion_lists_are_searched_as_text(
    db_url: str, query: str, found: list[int]
) -> None:
    sessions = _insert_texts(db_url, ["两地学校结对帮扶，教师交流。"])
    with sessions() as s:
        assert [h.id for h in search(s, query)] == found


def test_export_records_carry_full_provenance(db_url: str) -> None:
    import json

    from storage.queries import iter_records

    sessions, source_id, run_id = _setup(db_url)
    refetched = datetime(2022, 12, 24, 3, tzinfo=UTC)
    with sessions.begin() as s:
        for n in range(1, 4):
            insert_article(s, _article(source_id, run_id, n, charset="gb18030", http_status=200))
        # a recrawl found article 2's text changed: its newest revision is when the stored text was fetched
        s.add(
            ArticleRevision(
                article_id=2, revision=2, run_id=run_id, title="t", text="新", content_hash="h",
                charset="utf-8", http_status=200, fetched_at=refetched,
            )
        )  # fmt: skip
    with sessions() as s:
        records = [json.loads(json.dumps(r, ensure_ascii=False)) for r in iter_records(s)]
    assert records[1]["fetched_at"] == refetched.isoformat()
    assert records[0]["fetched_at"] == records[0]["first_seen"]  # fetched once, when first stored
    assert [r["id"] for r in records] == [1, 2, 3]
    first = records[0]
    assert first["url"] == "http://portal.example/edu/1.html"
    assert first["fetched_url"] == "http://portal.example/edu/1.html?utm_source=feed"
    assert first["source"] == "p" and first["source_name"] == "厦门网"
    assert first["http_status"] == 200 and first["charset"] == "gb18030"
    assert first["content_hash"] == f"{1:064d}"
    assert first["published"] == "2022-06-16T02:30:00+00:00"  # 10:30 in Shanghai, shown in UTC: no zone set
    assert datetime.fromisoformat(first["fetched_at"]).tzinfo is not None
    assert first["story_id"] is not None and first["run_id"] == run_id
    (seen,) = first["sightings"]
    assert seen["url"] == first["url"] and seen["source"] == "p" and seen["copy"] is False
    assert first["text"] == "两地学校结对帮扶，100% 的学校参与 (第1篇)。"


def test_export_streams_every_article_in_id_order(db_url: str) -> None:
    sessions, source_id, run_id = _setup(db_url)
    with sessions.begin() as s:
        for n in range(1, 1206):
            insert_article(s, _article(source_id, run_id, n))
    with sessions() as s:
        ids = [a.id for a in iter_articles(s)]
    assert ids == sorted(ids) and len(ids) == 1205


def test_a_closed_run_is_not_reopened_by_the_parent(db_url: str) -> None:
    sessions, _, run_id = _setup(db_url)
    with sessions.begin() as s:
        finish_run(s, run_id, status="ok", counts={"fetched": 3})
        record_rejection(s, run_id, "http://x/1", Reason.NOT_PAIRING, "pairing 0.0", "t")
    with sessions.begin() as s:
        assert not finish_run(s, run_id, status="failed", error="exit 1", only_if_running=True)
    with sessions() as s:
        run = s.get(CrawlRun, run_id)
        assert run is not None and run.status == "ok" and run.counts == {"fetched": 3}
        assert rejection_counts(s, [run_id]) == {"not_pairing": 1}


def test_processes_opening_a_new_database_at_once_migrate_it_once(db_url: str) -> None:
    import subprocess
    import sys

    code = "import sys; from storage.db import open_for_writing; open_for_writing(sys.argv[1])"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, db_url], stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
    engine = open_for_writing(db_url).engine
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from alembic_version")).scalar() == 1


def test_upgrades_add_search_forms_rehash_and_make_stories_without_losing_rows(db_url: str) -> None:
    from alembic import command

    from pipelines.dedup import content_hash
    from storage.db import alembic_config, close_all, make_engine

    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0002")
    traditional = "廈門市湖里區學校結對共建，續寫新篇章。"
    with Session(engine) as session, session.begin():
        source_id = upsert_sources(session, [{"name": "p", "title": "Portal"}])["p"]
    with engine.begin() as conn:
        for n, (text, old_hash) in enumerate([(traditional, "a" * 64), ("Two schools pair up.", "b" * 64)]):
            conn.execute(
                sa.text(
                    "INSERT INTO articles (source_id, url, fetched_url, title, language, text, relevance,"
                    " is_pairing, relevance_terms, content_hash, http_status, first_seen)"
                    " VALUES (:s, :u, :u, 't', 'zh-Hant', :text, 1.0, :yes, '[]', :h, 200, :seen)"
                ),
                {
                    "s": source_id,
                    "u": f"http://p.example/{n}",
                    "text": text,
                    "yes": True,
                    "h": old_hash,
                    "seen": datetime(2022, 6, 17, tzinfo=UTC),
                },
            )
            conn.execute(
                sa.text(
                    "INSERT INTO article_revisions (article_id, revision, title, text, content_hash,"
                    " http_status, fetched_at) SELECT id, 1, title, text, content_hash, 200, first_seen"
                    " FROM articles WHERE url = :u"
                ),
                {"u": f"http://p.example/{n}"},
            )
    engine.dispose()
    close_all()
    sessions = open_for_writing(db_url).sessions
    with sessions() as s:
        rows = {a.url: a for a in s.scalars(sa.select(Article))}
        revisions = s.execute(sa.text("SELECT text, content_hash FROM article_revisions")).all()
    assert len(rows) == 2 and len(revisions) == 2
    first = rows["http://p.example/0"]
    assert first.text == traditional  # the text as published is untouched
    assert first.search_text == "厦门市湖里区学校结对共建,续写新篇章。"
    assert first.content_hash == content_hash("厦门市湖里区学校结对共建，续写新篇章。")
    assert {h for _, h in revisions} == {content_hash(t) for t, _ in revisions}
    # 0004: every article is a story of its own, seen at its URL, with its band keys indexed; the table
    # rebuilds of the upgrade cascade nothing away (the revisions above are still there).
    with sessions() as s:
        stories = s.execute(sa.text("SELECT COUNT(*) FROM stories")).scalar_one()
        sightings = s.execute(sa.text("SELECT url, story_id, article_id FROM sightings ORDER BY url")).all()
        bands = s.execute(sa.text("SELECT COUNT(DISTINCT article_id) FROM minhash_bands")).scalar_one()
    assert stories == 2 and bands == 2
    assert [(url, story, article) for url, story, article in sightings] == [
        (a.url, a.story_id, a.id) for a in sorted(rows.values(), key=lambda a: a.url)
    ]


def test_the_schema_document_describes_every_table_and_column() -> None:

    doc = (Path(__file__).parent.parent / "docs" / "schema.md").read_text(encoding="utf-8")
    for table in Base.metadata.sorted_tables:
        assert f"## `{table.name}`" in doc, table.name
        section = doc.split(f"## `{table.name}`", 1)[1].split("\n## ", 1)[0]
        for column in table.columns:
            assert f"`{column.name}`" in section, f"{table.name}.{column.name}"


def test_an_sqlite_connection_waits_thirty_seconds_for_a_lock_unless_the_environment_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAIRCHIVE_SQLITE_BUSY_TIMEOUT", raising=False)
    engine = open_for_writing(f"sqlite:///{tmp_path / 'a.db'}").engine
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA busy_timeout")).scalar() == 30000
    close_all()
    monkeypatch.setenv("PAIRCHIVE_SQLITE_BUSY_TIMEOUT", "0.25")
    engine = open_for_writing(f"sqlite:///{tmp_path / 'a.db'}").engine
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA busy_timeout")).scalar() == 250
    close_all()
    monkeypatch.setenv("PAIRCHIVE_SQLITE_BUSY_TIMEOUT", "a while")
    with pytest.raises(StorageError, match=r"^PAIRCHIVE_SQLITE_BUSY_TIMEOUT='a while' is not a number of"):
        open_for_writing(f"sqlite:///{tmp_path / 'a.db'}")
    close_all()


def test_every_sqlite_connection_is_in_wal_mode_with_foreign_keys_on(tmp_path: Path) -> None:
    engine = open_for_writing(f"sqlite:///{tmp_path / 'a.db'}").engine
    with engine.connect() as first, engine.connect() as second:  # two pooled connections, each set up
        for conn in (first, second):
            assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(sa.text("PRAGMA page_size")).scalar() == 16384  # a new file's pages
    close_all()


def test_an_existing_sqlite_file_keeps_its_page_size_and_its_rows(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute("PRAGMA page_size=4096")
        old.execute("CREATE TABLE notes (body TEXT)")
        old.execute("INSERT INTO notes VALUES ('kept')")
    engine = open_for_writing(f"sqlite:///{path}").engine
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA page_size")).scalar() == 4096
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(sa.text("SELECT body FROM notes")).scalars().all() == ["kept"]
    close_all()


def test_the_schema_document_describes_the_full_text_index_of_both_databases(tmp_path: Path) -> None:
    """The index tables are made by a migration, not the models: the document names each, with its
    columns, and every table a fresh SQLite archive holds is described."""
    doc = (Path(__file__).parent.parent / "docs" / "schema.md").read_text(encoding="utf-8")
    for name in INDEX_TABLES:
        assert f"`{name}`" in doc.split("## `articles_fts`", 1)[1].split("\n## ", 1)[0], name
    engine = open_for_writing(f"sqlite:///{tmp_path / 'a.db'}").engine
    with engine.connect() as conn:
        names = conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'table'")).scalars().all()
        columns = [row[1] for row in conn.execute(sa.text("PRAGMA table_info(articles_fts)"))]
    close_all()
    assert columns == ["tokens"]
    for name in names:
        assert f"`{name}`" in doc, name


def test_a_server_that_does_not_answer_is_unreachable_and_a_wrong_name_is_not(tmp_path: Path) -> None:
    """The daemon retries the first (exit 1) and stops on the second (exit 2): a database or role that
    does not exist will not appear by waiting."""
    import os
    import socket

    from crawler.vocabulary.errors import DatabaseUnreachable, StorageError
    from tests.conftest import PG_ENV

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(DatabaseUnreachable, match="Connection refused"):
        open_for_writing(f"postgresql+psycopg://postgres@127.0.0.1:{port}/test")
    with pytest.raises(StorageError) as caught:
        open_for_writing(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    assert not isinstance(caught.value, DatabaseUnreachable)
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"a wrong database and role on a live server need {PG_ENV}")
    url = sa.engine.make_url(base)
    for wrong in (url.set(database="pairchive_no_such_database"), url.set(username="pairchive_no_such_role")):
        with pytest.raises(StorageError) as caught:
            open_for_writing(wrong.render_as_string(hide_password=False))
        assert not isinstance(caught.value, DatabaseUnreachable), caught.value
        assert "does not exist" in str(caught.value)


def test_a_snippet_keeps_latin_words_whole_and_cuts_chinese_anywhere() -> None:
    from storage.search import snippet

    text = "Teachers from Huli district travelled to Minning town where sixteen schools signed pairing agreements today"
    got = snippet(text, "Minning", width=20)
    assert "[Minning]" in got
    inner = got.strip("…")
    words = set(text.split())
    assert all(w.strip("[]") in words for w in inner.split()), got
    chinese = "湖里区十六所学校与闽宁镇十六所学校结对共建，开启两地教育协作新篇章"
    assert snippet(chinese, "结对", width=5) == "…十六所学校[结对]共建，开启…"
    assert snippet("word", "word") == "[word]"
