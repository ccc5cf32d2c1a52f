"""The declared outcomes: rejection reasons, run statuses and flag reasons, from the exceptions that carry
them to the CHECK constraints that keep the database to them (migration 0010), and their documentation."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from scrapy.exceptions import DropItem, IgnoreRequest

from crawler.sampleweb import SampleWeb
from crawler.vocabulary.reasons import RefusedUrl, Rejected
from spiders.discovery import Unreadable
from storage.archive import finish_run, record_rejection, start_run, upsert_sources
from storage.db import (
    MIGRATIONS,
    SCHEMA_HEAD,
    alembic_config,
    close_all,
    current_revision,
    make_engine,
    open_for_writing,
)
from storage.errors import StorageError
from storage.models import Article, Base, CrawlRun, Rejection
from storage.outcomes import FLAG_REASONS, Reason, RunStatus
from tests.crawls import LOOPBACK, demo_sources, run_rows
from tests.undeclared_stages import UNDECLARED

DOC = Path(__file__).parent.parent / "docs" / "schema.md"
CONSTRAINED = {
    "rejections": ("reason", [str(r) for r in Reason]),
    "crawl_runs": ("status", [str(s) for s in RunStatus]),
    "articles": ("flag_reason", [str(f) for f in sorted(FLAG_REASONS)]),
}


# --- the exceptions that carry a reason -----------------------------------------------------------


def test_a_rejection_is_a_drop_item_carrying_its_reason_and_detail() -> None:
    exc = Rejected(Reason.NOT_PAIRING, "pairing 0.12")
    assert isinstance(exc, DropItem)
    assert exc.reason is Reason.NOT_PAIRING and exc.detail == "pairing 0.12"
    assert str(exc) == "not_pairing: pairing 0.12"  # as logs, `extract` and reprocess show it
    assert str(Rejected(Reason.NO_TEXT)) == "no_text"


def test_a_refused_url_is_an_ignored_request_carrying_its_reason_and_detail() -> None:
    exc = RefusedUrl(Reason.PRIVATE_ADDRESS, "intranet.example resolves to 10.0.0.1")
    assert isinstance(exc, IgnoreRequest)
    assert exc.reason is Reason.PRIVATE_ADDRESS and exc.detail == "intranet.example resolves to 10.0.0.1"
    assert str(exc) == "intranet.example resolves to 10.0.0.1"


def test_an_unreadable_feed_carries_its_reason() -> None:
    exc = Unreadable(Reason.XML_ENTITIES, "declares 1 entity")
    assert exc.reason is Reason.XML_ENTITIES and str(exc) == "xml_entities: declares 1 entity"


@pytest.mark.parametrize(
    "make",
    [
        lambda word: Rejected(word, "x"),
        lambda word: RefusedUrl(word, "x"),
        lambda word: Unreadable(word, "x"),
    ],
    ids=["Rejected", "RefusedUrl", "Unreadable"],
)
def test_a_word_outside_the_declared_reasons_is_refused_where_it_is_made(make: Any) -> None:
    with pytest.raises(ValueError, match=UNDECLARED):
        make(UNDECLARED)
    assert make("duplicate").reason is Reason.DUPLICATE  # the stored word itself is its member


def test_the_flag_reasons_are_rejection_reasons() -> None:
    assert set(Reason) >= FLAG_REASONS


# --- the database keeps to them ---------------------------------------------------------------------


def _run(db_url: str) -> tuple[Any, int, int]:
    sessions = open_for_writing(db_url).sessions
    with sessions.begin() as s:
        source_id = upsert_sources(s, [{"name": "p", "title": "Portal"}])["p"]
        run_id = start_run(s, source_id, "cli")
    return sessions, source_id, run_id


def test_the_database_refuses_a_reason_or_a_status_outside_the_declared_sets(db_url: str) -> None:
    sessions, _, run_id = _run(db_url)
    with sessions.begin() as s:
        for reason in Reason:
            record_rejection(s, run_id, f"http://p.example/{reason}", reason, "", None)
    writes = [
        "INSERT INTO rejections (run_id, url, reason, detail, created_at) VALUES (:r, 'u', :w, '', :t)",
        "UPDATE crawl_runs SET status = :w WHERE id = :r",
    ]
    for sql in writes:
        with pytest.raises(sa.exc.IntegrityError), sessions.begin() as s:
            s.execute(sa.text(sql), {"r": run_id, "w": UNDECLARED, "t": datetime.now(UTC)})
    with sessions() as s:
        assert {r for (r,) in s.execute(sa.select(Rejection.reason))} == set(Reason)
        assert s.get_one(CrawlRun, run_id).status == RunStatus.RUNNING


def test_a_flag_outside_the_flag_reasons_is_refused_and_no_flag_is_allowed(db_url: str) -> None:
    sessions, source_id, _ = _run(db_url)
    with sessions.begin() as s:
        s.execute(sa.text("INSERT INTO stories (id, first_seen) VALUES (1, :t)"), {"t": datetime.now(UTC)})
        s.execute(sa.text(_ARTICLE), _article_row(source_id, 1))
        article_id = s.scalar(sa.select(Article.id))
    flag: str | None
    for flag in (None, *FLAG_REASONS):
        with sessions.begin() as s:
            s.get_one(Article, article_id).flag_reason = flag
    for flag in (UNDECLARED, Reason.DUPLICATE):  # a rejection reason that flags nothing
        with pytest.raises(sa.exc.IntegrityError), sessions.begin() as s:
            s.get_one(Article, article_id).flag_reason = flag


def test_an_undeclared_word_handed_to_the_archive_functions_is_refused_by_the_database(db_url: str) -> None:
    # Typed code cannot hand one over (mypy); a sender that bypasses the types meets the CHECK constraint.
    sessions, _, run_id = _run(db_url)
    with pytest.raises(sa.exc.IntegrityError), sessions.begin() as s:
        record_rejection(s, run_id, "http://p.example/1", UNDECLARED, "", None)  # type: ignore[arg-type]
    with pytest.raises(sa.exc.IntegrityError), sessions.begin() as s:
        finish_run(s, run_id, status=UNDECLARED)
    with sessions.begin() as s:
        assert finish_run(s, run_id, status="ok")  # a status the crawl process reported as text
    with sessions() as s:
        assert s.get_one(CrawlRun, run_id).status == RunStatus.OK


def test_the_models_declare_the_constraints_migration_0010_creates() -> None:
    migration = _newest_frozen()
    for table, (column, values) in CONSTRAINED.items():
        (check,) = [c for c in Base.metadata.tables[table].constraints if isinstance(c, sa.CheckConstraint)]
        assert check.name == f"ck_{table}_{column}"
        assert str(check.sqltext) == migration["one_of"](column, values)


# --- migration 0010 ---------------------------------------------------------------------------------


def _newest_frozen() -> dict[str, Any]:
    """The newest migration's frozen copy of each set (a later migration that widens one replaces it)."""
    found: dict[str, Any] = {}
    for path in sorted((MIGRATIONS / "versions").glob("[0-9]*.py")):
        module = importlib.import_module(f"storage.migrations.versions.{path.stem}")
        for name in ("REASONS", "RUN_STATUSES", "FLAG_REASONS", "one_of"):
            if hasattr(module, name):
                found[name] = getattr(module, name)
    return found


def test_the_newest_migration_constrains_the_columns_to_the_declared_sets_of_today() -> None:
    # A member added to storage.outcomes without a migration that widens the constraint fails here.
    frozen = _newest_frozen()
    assert list(frozen["REASONS"]) == [str(r) for r in Reason]
    assert list(frozen["RUN_STATUSES"]) == [str(s) for s in RunStatus]
    assert list(frozen["FLAG_REASONS"]) == sorted(FLAG_REASONS)


_ARTICLE = (
    "INSERT INTO articles (story_id, source_id, url, url_hash, fetched_url, title, language, text,"
    " search_text, relevance, is_pairing, relevance_terms, content_hash, http_status, first_seen,"
    " flag_reason) VALUES (:story, :s, :u, :h, :u, 't', 'zh-Hans', 'x', 'x', 1.0, :yes, '[]', :h, 200,"
    " :seen, :flag)"
)


def _article_row(source_id: int, n: int, flag: str | None = None) -> dict[str, Any]:
    return {
        "story": n,
        "s": source_id,
        "u": f"http://p.example/{n}",
        "h": f"{n:064d}",
        "yes": True,
        "seen": datetime(2022, 6, 17, tzinfo=UTC),
        "flag": flag,
    }


def _at_0009(db_url: str, reasons: list[str], statuses: list[str], flags: list[str | None]) -> None:
    """A database at 0009 holding a rejection of each of `reasons`, a run of each of `statuses` and an
    article flagged with each of `flags`."""
    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0009")
    seen = datetime(2022, 6, 17, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO sources (name, title, config, created_at, updated_at)"
                " VALUES ('p', 'P', '{}', :t, :t)"
            ),
            {"t": seen},
        )
        source_id = conn.execute(sa.text("SELECT id FROM sources")).scalar_one()
        for status in statuses:
            conn.execute(
                sa.text(
                    "INSERT INTO crawl_runs (source_id, trigger, status, started_at, counts)"
                    " VALUES (:s, 'cli', :status, :t, :c)"
                ),
                {"s": source_id, "status": status, "t": seen, "c": json.dumps({"fetched": 1})},
            )
        run_id = conn.execute(sa.text("SELECT min(id) FROM crawl_runs")).scalar_one()
        for n, reason in enumerate(reasons):
            conn.execute(
                sa.text(
                    "INSERT INTO rejections (run_id, url, reason, detail, created_at)"
                    " VALUES (:r, :u, :reason, 'd', :t)"
                ),
                {"r": run_id, "u": f"http://p.example/r{n}", "reason": reason, "t": seen},
            )
        for n, flag in enumerate(flags, start=1):
            conn.execute(sa.text("INSERT INTO stories (id, first_seen) VALUES (:n, :t)"), {"n": n, "t": seen})
            conn.execute(sa.text(_ARTICLE), _article_row(source_id, n, flag))
    engine.dispose()


def _held(db_url: str) -> tuple[list[str], list[str], list[str | None]]:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        reasons = list(conn.execute(sa.text("SELECT reason FROM rejections ORDER BY id")).scalars())
        statuses = list(conn.execute(sa.text("SELECT status FROM crawl_runs ORDER BY id")).scalars())
        flags = list(conn.execute(sa.text("SELECT flag_reason FROM articles ORDER BY id")).scalars())
    engine.dispose()
    return reasons, statuses, flags


def test_the_upgrade_to_0010_keeps_every_row_of_every_declared_value(db_url: str) -> None:
    flags: list[str | None] = [None, *sorted(FLAG_REASONS)]
    at_0010 = importlib.import_module("storage.migrations.versions.0010_declared_reasons_and_statuses")
    # the values declared when 0010 was written (a later migration widens them)
    before = (list(at_0010.REASONS), list(at_0010.RUN_STATUSES), flags)
    _at_0009(db_url, *before)
    engine, sessions = open_for_writing(db_url).engine, open_for_writing(db_url).sessions
    assert current_revision(engine) == SCHEMA_HEAD  # through 0010 to the newest
    assert _held(db_url) == before
    with pytest.raises(sa.exc.IntegrityError), sessions.begin() as s:  # and now it is constrained
        s.execute(sa.text("UPDATE crawl_runs SET status = :w"), {"w": UNDECLARED})
    # down again: the constraints go, the rows stay
    command.downgrade(alembic_config(engine), "0009")
    assert current_revision(engine) == "0009"
    assert _held(db_url) == before
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE rejections SET reason = :w WHERE id = 1"), {"w": UNDECLARED})


def _write(db_url: str, sql: str) -> None:
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text(sql))
    engine.dispose()


def test_rows_outside_the_declared_sets_stop_the_upgrade_in_one_line_and_lose_nothing(db_url: str) -> None:
    reasons = ["not_pairing", "skipped", "skipped", "typo"]
    _at_0009(db_url, reasons, ["ok", "done"], [None])
    with pytest.raises(StorageError) as refused:
        open_for_writing(db_url)
    message = str(refused.value)
    assert "\n" not in message
    assert "rejections.reason" in message and "'skipped' (2 rows), 'typo' (1 row)" in message, message
    assert "nothing was changed" in message
    engine = make_engine(db_url)
    assert current_revision(engine) == "0009"
    engine.dispose()
    assert _held(db_url) == (reasons, ["ok", "done"], [None])
    # corrected by hand, the archive opens: the next table's word is named in its turn
    _write(db_url, "UPDATE rejections SET reason = 'failed' WHERE reason <> 'not_pairing'")
    with pytest.raises(StorageError, match=r"crawl_runs\.status: it holds 'done' \(1 row\)"):
        open_for_writing(db_url)
    _write(db_url, "UPDATE crawl_runs SET status = 'failed' WHERE status = 'done'")
    engine = open_for_writing(db_url).engine
    assert current_revision(engine) == SCHEMA_HEAD
    assert _held(db_url) == (["not_pairing", "failed", "failed", "failed"], ["ok", "failed"], [None])


# --- crawls that break the protocol -------------------------------------------------------------------


def _crawl_with_stage(sample_web: SampleWeb, tmp_path: Path, stage: str) -> tuple[str, Any]:
    sources = demo_sources(sample_web, tmp_path)
    db = f"sqlite:///{tmp_path / 'a.db'}"
    pipelines = json.dumps({f"tests.undeclared_stages.{stage}": 100})
    # The crawl process imports the test's stage: the project's root on its path (the suite runs elsewhere).
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    args = ["--source", "huli-edu", "-s", f"ITEM_PIPELINES={pipelines}", *LOOPBACK]
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "crawl", "--sources", str(sources), "--db", db, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    return db, result


def test_a_stage_dropping_a_page_without_a_reason_is_a_failed_page_not_a_new_reason(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    db, result = _crawl_with_stage(sample_web, tmp_path, "PlainDrop")
    assert result.returncode == 0, result.stderr[-2000:]
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        rows = s.execute(sa.select(Rejection.reason, Rejection.detail)).all()
        (run,) = s.scalars(sa.select(CrawlRun)).all()
    close_all()
    dropped = [reason for reason, detail in rows if detail.startswith(f"DropItem: {UNDECLARED}: ")]
    assert dropped and set(dropped) == {Reason.FAILED}  # every article page, each with the stage's words
    assert UNDECLARED not in {reason for reason, _ in rows}
    assert run.status == RunStatus.OK and UNDECLARED not in run.counts
    assert run.counts[Reason.FAILED] == sum(reason == Reason.FAILED for reason, _ in rows)


def test_a_page_reported_under_an_undeclared_word_fails_the_run(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    db, result = _crawl_with_stage(sample_web, tmp_path, "UndeclaredReason")
    assert result.returncode != 0
    ((_, _, status, error),) = run_rows(db)
    assert status == RunStatus.FAILED
    assert error is not None and error.startswith("the database refused a write: IntegrityError"), error
    assert "ck_rejections_reason" in error or "CHECK constraint failed" in error, error
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        assert (
            s.scalar(sa.select(sa.func.count()).select_from(Rejection).where(Rejection.reason == UNDECLARED))
            == 0
        )
    close_all()


# --- the schema document lists them -----------------------------------------------------------------


def _listed(heading: str) -> list[str]:
    """The first-column words of the table under `### heading` in docs/schema.md, in order."""
    doc = DOC.read_text(encoding="utf-8")
    section = doc.split(f"\n### {heading}\n", 1)[1].split("\n#", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)


def test_the_schema_document_lists_every_reason_status_and_flag_reason_and_no_other() -> None:
    assert _listed("Rejection reasons") == [str(r) for r in Reason]
    assert _listed("Run statuses") == [str(s) for s in RunStatus]
    assert sorted(_listed("Flag reasons")) == sorted(FLAG_REASONS)
