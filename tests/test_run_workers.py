"""The workers of a distributed run in the archive: their rows (storage.runworkers) on SQLite and
PostgreSQL, migration 0013, a worker's own WARC files and `captures.worker`, and `runs show` listing them."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from crawler.process.capture import WORKER_NAME_CHARS, warc_name, worker_part
from crawler.runner.crawl import crawl
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.sources import parse_sources
from storage.archive import finish_run, start_run, upsert_sources
from storage.db import SCHEMA_HEAD, alembic_config, close_all, current_revision, make_engine, open_for_writing
from storage.models import Article, Base, Capture, CrawlRun, RunWorker
from storage.outcomes import WORKER_STATUSES, RunStatus
from storage.runworkers import finish_worker, join_run, merged_health_counts, summed_counts, workers_of
from storage.warc import WARC_PART_RE
from tests.cli import run_cli
from tests.crawls import LOOPBACK_SETTINGS, QuietHandler, article_page, pairchive, serve

HEALTH_A = {
    "pages": 3,
    "no_text": 1,
    "lengths": [800, 1200],
    "dated": 2,
    "credited": 1,
    "gate": 2,
    "boilerplate": 0,
    "duplicate": 0,
}
HEALTH_B = {
    "pages": 2,
    "no_text": 0,
    "lengths": [600, 900],
    "dated": 1,
    "credited": 2,
    "gate": 1,
    "boilerplate": 1,
    "duplicate": 1,
}


def _run(db_url: str) -> tuple[Any, int]:
    sessions = open_for_writing(db_url).sessions
    with sessions.begin() as s:
        source_id = upsert_sources(s, [{"name": "p", "title": "Portal"}])["p"]
        run_id = start_run(s, source_id, "schedule")
    return sessions, run_id


# --- storage.runworkers ---------------------------------------------------------------------------------


def test_a_worker_joining_a_run_twice_has_one_row_still_running(db_url: str) -> None:
    sessions, run_id = _run(db_url)
    with sessions.begin() as s:
        join_run(s, run_id, "host-a:1234")
    with sessions.begin() as s:
        join_run(s, run_id, "host-a:1234")
        join_run(s, run_id, "host-b:77")
    with sessions() as s:
        rows = workers_of(s, run_id)
        assert [r.worker for r in rows] == ["host-a:1234", "host-b:77"]
        first = rows[0]
        assert first.joined_at.tzinfo is not None and first.joined_at <= datetime.now(UTC)
        assert (first.finished_at, first.status, first.counts, first.health_counts, first.error) == (
            None,
            None,
            {},
            None,
            None,
        )


def test_finishing_a_worker_records_how_its_part_ended_and_what_it_counted(db_url: str) -> None:
    sessions, run_id = _run(db_url)
    with sessions.begin() as s:
        join_run(s, run_id, "host-a:1234")
        joined = workers_of(s, run_id)[0].joined_at
    with sessions.begin() as s:
        loaded = workers_of(s, run_id)[0]  # loaded before the finish: the session's row follows it
        finish_worker(
            s,
            run_id,
            "host-a:1234",
            status=RunStatus.FAILED,
            counts={"fetched": 5, "stored": 2},
            health_counts=HEALTH_A,
            error="database refused: postgresql://pairchive:secret@db/pairchive",
        )
        assert loaded.status == RunStatus.FAILED
    with sessions() as s:
        (row,) = workers_of(s, run_id)
        assert row.joined_at == joined and row.finished_at is not None and row.finished_at >= joined
        assert row.status == "failed" and row.counts == {"fetched": 5, "stored": 2}
        assert row.health_counts == HEALTH_A
        assert row.error is not None and "secret" not in row.error  # a URL's password never stored


def test_finishing_a_worker_whose_join_was_never_written_makes_its_row(db_url: str) -> None:
    sessions, run_id = _run(db_url)
    with sessions.begin() as s:
        finish_worker(
            s, run_id, "host-c:9", status=RunStatus.INTERRUPTED, counts={}, health_counts=None, error=None
        )
    with sessions() as s:
        (row,) = workers_of(s, run_id)
        assert (row.worker, row.status, row.health_counts) == ("host-c:9", "interrupted", None)
        assert row.joined_at is not None and row.finished_at is not None


def test_workers_of_a_run_are_its_own_in_the_order_they_joined_and_none_for_one_machine(db_url: str) -> None:
    sessions, run_id = _run(db_url)
    with sessions.begin() as s:
        other = start_run(s, s.get_one(CrawlRun, run_id).source_id, "cli")
        alone = start_run(s, s.get_one(CrawlRun, run_id).source_id, "cli")
        join_run(s, run_id, "host-b:2")
        join_run(s, other, "host-z:1")
    with sessions.begin() as s:
        join_run(s, run_id, "host-a:1")  # joined later, though its name sorts first
    with sessions() as s:
        assert [r.worker for r in workers_of(s, run_id)] == ["host-b:2", "host-a:1"]
        assert [r.worker for r in s.get_one(CrawlRun, run_id).workers] == ["host-b:2", "host-a:1"]
        assert [r.worker for r in workers_of(s, other)] == ["host-z:1"]
        assert workers_of(s, alone) == []


def test_a_worker_status_other_than_how_a_part_can_end_is_refused(db_url: str) -> None:
    sessions, run_id = _run(db_url)
    with pytest.raises(sa.exc.IntegrityError), sessions.begin() as s:
        finish_worker(
            s, run_id, "host-a:1", status=RunStatus.DEGRADED, counts={}, health_counts=None, error=None
        )


def test_counts_are_summed_over_the_workers_a_count_one_lacks_being_zero_there() -> None:
    rows = [
        RunWorker(worker="a", counts={"fetched": 4, "stored": 1, "failed": 1}),
        RunWorker(worker="b", counts={"fetched": 6, "stored": 3, "capped": 1}),
        RunWorker(worker="c", counts={}),
    ]
    assert summed_counts(rows) == {"fetched": 10, "stored": 4, "failed": 1, "capped": 1}
    assert summed_counts([]) == {}


def test_health_counts_are_summed_and_their_lengths_joined_over_the_workers_that_counted() -> None:
    rows = [
        RunWorker(worker="a", health_counts=HEALTH_A),
        RunWorker(worker="b", health_counts=None),  # died before it could say
        RunWorker(worker="c", health_counts=HEALTH_B),
    ]
    assert merged_health_counts(rows) == {
        "pages": 5,
        "no_text": 1,
        "lengths": [800, 1200, 600, 900],
        "dated": 3,
        "credited": 3,
        "gate": 3,
        "boilerplate": 1,
        "duplicate": 1,
    }
    assert HEALTH_A["lengths"] == [800, 1200]  # the rows' own counts are left as they were
    assert merged_health_counts([RunWorker(worker="a", health_counts=None)]) is None
    assert merged_health_counts([]) is None


def test_merged_health_counts_make_a_run_health() -> None:
    from storage.health import health_of

    merged = merged_health_counts(
        [RunWorker(worker="a", health_counts=HEALTH_A), RunWorker(health_counts=HEALTH_B)]
    )
    assert merged is not None
    health = health_of(**merged)
    assert health["pages"] == 5 and health["with_text"] == 4 and health["median_chars"] == 850


# --- migration 0013 -------------------------------------------------------------------------------------


def test_migration_0013_keeps_the_rows_there_and_its_downgrade_keeps_the_captures(db_url: str) -> None:
    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0012")
    seen = datetime(2026, 12, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO sources (name, title, config, created_at, updated_at) VALUES ('p', 'P', '{}', :t, :t)"
            ),
            {"t": seen},
        )
        conn.execute(
            sa.text(
                "INSERT INTO crawl_runs (source_id, trigger, status, started_at, counts)"
                " SELECT id, 'cli', 'ok', :t, '{\"stored\": 1}' FROM sources"
            ),
            {"t": seen},
        )
        conn.execute(
            sa.text(
                'INSERT INTO captures (run_id, url, http_status, fetched_at, warc_file, "offset", length,'
                " request_offset, request_length, record_id, payload_digest)"
                " SELECT id, 'http://p.example/1', 200, :t, 'p/pairchive-20261201000000-run1.warc.gz',"
                " 10, 20, 30, 40, '<urn:uuid:1>', 'sha1:AAAA' FROM crawl_runs"
            ),
            {"t": seen},
        )
    engine.dispose()
    sessions = open_for_writing(db_url).sessions
    engine = open_for_writing(db_url).engine
    assert current_revision(engine) == SCHEMA_HEAD == "0013"
    with sessions.begin() as s:
        (run,) = s.scalars(sa.select(CrawlRun)).all()
        (capture,) = s.scalars(sa.select(Capture)).all()
        assert run.counts == {"stored": 1} and run.workers == []  # nothing stored changed
        assert (capture.run_id, capture.offset, capture.worker) == (run.id, 10, None)
        join_run(s, run.id, "host-a:1")
    command.downgrade(alembic_config(engine), "0012")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT url FROM captures")).scalars().all() == ["http://p.example/1"]
        assert "worker" not in {c["name"] for c in sa.inspect(conn).get_columns("captures")}
        assert "run_workers" not in sa.inspect(conn).get_table_names()


def test_the_migration_constrains_worker_statuses_to_the_declared_set_of_today() -> None:
    migration = importlib.import_module("storage.migrations.versions.0013_run_workers")
    assert list(migration.WORKER_STATUSES) == [str(s) for s in WORKER_STATUSES]
    (check,) = [
        c for c in Base.metadata.tables["run_workers"].constraints if isinstance(c, sa.CheckConstraint)
    ]
    assert check.name == "ck_run_workers_status"
    assert str(check.sqltext) == migration.one_of("status", [str(s) for s in WORKER_STATUSES])


# --- a worker's WARC files ------------------------------------------------------------------------------


def test_a_worker_id_becomes_a_file_name_part_of_safe_characters_only() -> None:
    assert worker_part("host-a:1234") == "host-a-1234"
    assert worker_part("hôte a/../b:1") == "h-te-a-..-b-1"
    long = worker_part("h" * 300 + ":1")
    assert len(long) == WORKER_NAME_CHARS and long != worker_part("h" * 300 + ":2")
    started = datetime(2026, 12, 4, 18, 0, 5, tzinfo=UTC)
    assert warc_name("p", started, 12, "") == "p/pairchive-20261204180005-run12.warc.gz"  # one machine
    name = warc_name("p", started, 12, "hostA:123")
    assert name == "p/pairchive-20261204180005-run12-w-hostA-123.warc.gz"
    assert all(WARC_PART_RE.fullmatch(part) for part in name.split("/"))
    assert len(warc_name("p" * 100, started, 2**31 - 1, "h" * 300).split("/")[1].encode()) < 255


class OnePortal(QuietHandler):
    """A portal of one listing page and one story."""

    def do_GET(self) -> None:
        pages = {"/list.html": b'<html><body><a href="/a/1.html">story</a></body></html>'}
        pages["/a/1.html"] = article_page(1)
        body = pages.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")


def test_a_crawl_with_a_worker_id_writes_a_file_named_for_the_worker_and_says_so_on_each_capture(
    db_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    with serve(OnePortal) as base:
        sources = tmp_path / "sources.toml"
        text = f'[[source]]\nname = "one"\nstart_urls = ["{base}/list.html"]\narticle_pattern = "/a/"\n'
        sources.write_text(text, encoding="utf-8")
        cfg = AppConfig(db_url=db_url, sources_path=str(sources), data_dir=str(data_dir))
        settings = {**LOOPBACK_SETTINGS, "PAIRCHIVE_WORKER_ID": "host-a:1234"}
        (run,) = crawl(cfg, parse_sources(text, str(sources)), settings=settings, log_sink=None)
    assert run.status == RunStatus.OK, run.error
    sessions = open_for_writing(db_url).sessions
    with sessions() as s:
        (capture,) = s.scalars(sa.select(Capture)).all()
        article_id = s.scalars(sa.select(Article.id)).one()
        name, worker = capture.warc_file, capture.worker
    close_all()
    assert worker == "host-a:1234"
    assert name.startswith("one/pairchive-") and name.endswith(f"-run{run.run_id}-w-host-a-1234.warc.gz")
    assert [p.relative_to(data_dir / "warc").as_posix() for p in (data_dir / "warc").rglob("*.warc.gz")] == [
        name
    ]
    # the readers find the capture where its row says
    env = {**os.environ, "PAIRCHIVE_DATA_DIR": str(data_dir)}
    shown = subprocess.run(
        [sys.executable, "-m", "crawler", "show", str(article_id), "--raw", "--db", db_url],
        capture_output=True,
        check=True,
        env=env,
    )
    assert shown.stdout == article_page(1)
    verified = pairchive("warc", "verify", "--db", db_url, "--data-dir", str(data_dir))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "checked 1 capture(s)" in verified.stdout


# --- runs show ------------------------------------------------------------------------------------------


def _two_worker_run(db_url: str) -> int:
    sessions, run_id = _run(db_url)
    with sessions.begin() as s:
        join_run(s, run_id, "host-a:1234")
        finish_worker(
            s,
            run_id,
            "host-a:1234",
            status=RunStatus.OK,
            counts={"fetched": 7, "stored": 3},
            health_counts=HEALTH_A,
            error=None,
        )
    with sessions.begin() as s:
        join_run(s, run_id, "host-b:99")
        finish_worker(
            s,
            run_id,
            "host-b:99",
            status=RunStatus.FAILED,
            counts={"fetched": 2},
            health_counts=None,
            error="the crawl process died\nits last line",
        )
        rows = workers_of(s, run_id)
        finish_run(s, run_id, status=RunStatus.FAILED, counts=summed_counts(rows), error="a worker failed")
    close_all()
    return run_id


def test_runs_show_lists_a_distributed_runs_workers_one_line_each(db_url: str) -> None:
    run_id = _two_worker_run(db_url)
    result = run_cli("runs", "show", str(run_id), "--db", db_url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = lines.index("Workers (2):")
    header, rule, first, second = lines[start + 1 : start + 5]
    assert header.split() == ["worker", "joined", "finished", "status", "fetched", "stored", "error"]
    assert set(rule.strip()) <= {"-", " "}
    assert first.split()[0] == "host-a:1234" and first.split()[5:] == ["ok", "7", "3"]
    assert second.split()[0] == "host-b:99"
    assert second.split()[5:] == ["failed", "2", "0", "the", "crawl", "process", "died"]  # its first line
    assert "counts: fetched 9, stored 3" in result.stdout


def test_runs_show_json_carries_the_workers(db_url: str) -> None:
    run_id = _two_worker_run(db_url)
    record = json.loads(run_cli("runs", "show", str(run_id), "--db", db_url, "--json").stdout)
    assert [(w["worker"], w["status"], w["counts"]) for w in record["workers"]] == [
        ("host-a:1234", "ok", {"fetched": 7, "stored": 3}),
        ("host-b:99", "failed", {"fetched": 2}),
    ]
    first = record["workers"][0]
    assert datetime.fromisoformat(first["joined_at"]) <= datetime.fromisoformat(first["finished_at"])
    assert record["workers"][1]["error"] == "the crawl process died\nits last line"


def test_runs_show_of_a_single_machine_run_says_nothing_of_workers(db_url: str) -> None:
    sessions, run_id = _run(db_url)
    with sessions.begin() as s:
        finish_run(s, run_id, status=RunStatus.OK, counts={"fetched": 1})
    close_all()
    shown = run_cli("runs", "show", str(run_id), "--db", db_url)
    assert shown.returncode == 0 and "Workers" not in shown.stdout and "worker" not in shown.stdout
    record = json.loads(run_cli("runs", "show", str(run_id), "--db", db_url, "--json").stdout)
    assert "workers" not in record
