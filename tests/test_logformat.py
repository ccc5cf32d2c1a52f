"""`--log-format json`: one JSON object per line on stderr, from a real daemon and a real `pairchive crawl`
(the crawl subprocess's own log and anything else it prints included), and the formatter's fields."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import scheduler
from crawler.cli import PairchiveCLI
from crawler.cli.options import errors_as_json
from crawler.sampleweb import SampleWeb
from crawler.vocabulary.logformat import JsonFormatter, JsonRelay, event
from storage.db import close_all, open_for_writing
from storage.models import CrawlRun
from tests.crawls import LOOPBACK, WAIT, crawl, demo_sources, pairchive, started
from tests.test_daemon import one_source


def _objects(lines: list[str]) -> list[dict[str, Any]]:
    """Every line as the JSON object it must be (a line that is not one fails the test, naming it)."""
    objects = []
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
        assert isinstance(obj, dict), line
        assert {"time", "level", "logger", "event", "message"} <= set(obj), line
        assert obj["time"].endswith("Z")
        objects.append(obj)
    return objects


def _run_record(db: str, run_id: int) -> tuple[str, str, dict[str, int]]:
    """A run's source, status and counts, as the database holds them."""
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        run = s.scalars(sa.select(CrawlRun).where(CrawlRun.id == run_id)).one()
        record = (run.source.name, run.status, dict(run.counts or {}))
    close_all()
    return record


def test_a_json_daemon_writes_only_json_lines_and_its_run_finished_event_matches_the_run_record(
    sample_web: SampleWeb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)  # not the test runner's service manager
    sources = tmp_path / "sources.toml"
    sources.write_text(one_source(sample_web, "linxia-news"), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'a.db'}"
    args = ("daemon", "--sources", str(sources), "--db", db, "--now", "--log-format", "json", *LOOPBACK)
    with started(*args) as (proc, err):
        err.wait_for(r'"event": "run_finished"')
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=WAIT) == 0
        err.wait_for(r'"event": "stopped"')
    objects = _objects([line for line in err.seen if line])
    by_event = {obj["event"]: obj for obj in objects}
    assert list(by_event) == [
        "daemon_started",
        "scheduled",
        "run_started",
        "run_finished",
        "stop_requested",
        "stopped",
    ]
    finished = by_event["run_finished"]
    source, status, counts = _run_record(db, finished["run"])
    assert finished["source"] == source == "linxia-news"
    assert finished["status"] == status == "ok"
    assert finished["counts"] == counts and counts["stored"] == 1
    assert finished["level"] == "INFO" and finished["logger"] == "pairchive.daemon"
    # the readable line is the message, as the text format writes it
    assert finished["message"].startswith(f"run {finished['run']} of linxia-news: ok ")
    assert by_event["scheduled"]["next_run"].startswith("20")
    assert by_event["stop_requested"]["signal"] == "SIGTERM"


def test_a_json_daemon_that_cannot_start_says_why_in_json_with_exit_status_2(tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text("[[source]\nname = ", encoding="utf-8")
    args = ("daemon", "--sources", str(sources), "--db", f"sqlite:///{tmp_path / 'a.db'}")
    with started(*args, "--log-format", "json") as (proc, err):
        assert proc.wait(timeout=WAIT) == 2
        err.wait_for("^$")  # the end of stderr
    (line,) = _objects([line for line in err.seen if line])
    assert line["event"] == "sources_invalid" and line["level"] == "ERROR"
    assert "malformed TOML" in line["error"]


def test_pairchive_crawl_in_json_relays_the_crawls_own_log_as_json_and_logs_each_run(
    sample_web: SampleWeb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = demo_sources(sample_web, tmp_path)
    db = f"sqlite:///{tmp_path / 'a.db'}"
    monkeypatch.setenv("PAIRCHIVE_LOG_FORMAT", "json")  # the variable, as a unit file would set it
    result = crawl(sources, db, "--source", "huli-edu")
    assert result.returncode == 0, result.stderr[-2000:]
    objects = _objects(result.stderr.splitlines())
    loggers = {obj["logger"] for obj in objects}
    assert "scrapy.core.engine" in loggers  # the crawl process's own log, as JSON
    (finished,) = [obj for obj in objects if obj["event"] == "run_finished"]
    assert _run_record(db, finished["run"]) == ("huli-edu", finished["status"], finished["counts"])
    assert "run" in result.stdout.splitlines()[0]  # the summary table stays on stdout, as text


def test_a_flag_wins_over_the_variable_and_text_stays_the_default(
    sample_web: SampleWeb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = demo_sources(sample_web, tmp_path)
    monkeypatch.setenv("PAIRCHIVE_LOG_FORMAT", "json")
    result = crawl(sources, f"sqlite:///{tmp_path / 'a.db'}", "--source", "huli-edu", "--log-format", "text")
    assert result.returncode == 0, result.stderr[-2000:]
    assert not any(line.startswith('{"time": ') for line in result.stderr.splitlines())
    assert any(" INFO scrapy.core.engine: " in line for line in result.stderr.splitlines())


def test_progress_lines_and_json_are_not_asked_for_together(sample_web: SampleWeb, tmp_path: Path) -> None:
    sources = demo_sources(sample_web, tmp_path)
    result = crawl(sources, f"sqlite:///{tmp_path / 'a.db'}", "--progress", "--log-format", "json")
    assert result.returncode == 2
    assert "--progress draws a line of counts, not JSON" in result.stderr


def test_an_error_that_ends_a_json_command_is_one_json_line_with_the_usual_exit_status(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    sources = demo_sources(sample_web, tmp_path)
    unknown = crawl(sources, f"sqlite:///{tmp_path / 'a.db'}", "--source", "nope", "--log-format", "json")
    bad_port = pairchive(
        "daemon",
        "--sources",
        str(sources),
        "--db",
        "postgresql+psycopg://u@h:99999/x",
        "--log-format",
        "json",
    )
    for result in (unknown, bad_port):
        assert result.returncode == 2  # a configuration error, as in text
        (line,) = _objects(result.stderr.splitlines())
        assert (line["event"], line["level"]) == ("command_failed", "ERROR")
    assert "nope" in json.loads(unknown.stderr)["error"]
    assert json.loads(bad_port.stderr)["message"] == "bad database URL: port 99999 is not from 1 to 65535"


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_an_error_not_expected_is_a_crashed_record_with_exit_status_70_and_under_debug_its_traceback(
    debug: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("pairchive")
    log.addHandler(handler)
    monkeypatch.setattr(PairchiveCLI, "debug", debug)
    try:
        with pytest.raises(SystemExit) as exited, errors_as_json("json"):
            raise RuntimeError("a bug")
    finally:
        log.removeHandler(handler)
    assert exited.value.code == 70
    (line,) = _objects(out.getvalue().splitlines())
    assert (line["event"], line["level"], line["error"]) == ("crashed", "CRITICAL", "RuntimeError: a bug")
    if debug:
        assert line["message"] == "Error: RuntimeError: a bug"
        assert line["traceback"].endswith("RuntimeError: a bug")
    else:
        assert line["message"] == "Error: RuntimeError: a bug (run with --debug for the traceback)"
        assert "traceback" not in line


def test_the_daemon_configured_by_the_environment_takes_its_log_format_from_it_too(tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text("[[source]\nname = ", encoding="utf-8")
    env = {**os.environ, "PAIRCHIVE_SOURCES": str(sources), "PAIRCHIVE_DB": f"sqlite:///{tmp_path / 'a.db'}"}
    script = str(Path(scheduler.__file__))
    as_json = subprocess.run(
        [sys.executable, script],
        env={**env, "PAIRCHIVE_LOG_FORMAT": "json"},
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert as_json.returncode == 2
    (line,) = _objects(as_json.stderr.splitlines())
    assert line["event"] == "sources_invalid"
    unknown = subprocess.run(
        [sys.executable, script],
        env={**env, "PAIRCHIVE_LOG_FORMAT": "yaml"},
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert unknown.returncode == 2
    assert unknown.stderr.strip().endswith("PAIRCHIVE_LOG_FORMAT=yaml: not a log format (text, json)")


# --- the formatter and the relay -------------------------------------------------------------------------


def _format(record: logging.LogRecord) -> dict[str, Any]:
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed: dict[str, Any] = json.loads(line)
    return parsed


def test_an_events_fields_are_in_its_object_and_a_records_other_attributes_are_not() -> None:
    record = logging.makeLogRecord(
        {
            "name": "pairchive.daemon",
            "levelno": logging.ERROR,
            "levelname": "ERROR",
            "msg": "run %s of %s: %s",
            "args": (7, "huli-edu", "failed"),
            "created": 1764555000.25,
            **event("run_finished", source="huli-edu", run=7, status="failed", counts={"fetched": 0}),
            "error": "db at postgresql://u:secret@host/x refused",
            "spider": object(),
        }
    )
    assert _format(record) == {
        "time": "2025-12-01T02:10:00.250Z",
        "level": "ERROR",
        "logger": "pairchive.daemon",
        "event": "run_finished",
        "message": "run 7 of huli-edu: failed",
        "source": "huli-edu",
        "run": 7,
        "status": "failed",
        "counts": {"fetched": 0},
        "error": "db at postgresql://u:***@host/x refused",  # scrubbed as a message is
    }


def test_a_traceback_is_a_field_of_its_one_line_and_a_library_record_is_event_log() -> None:
    try:
        raise ValueError("bad\nworse")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("alembic", logging.ERROR, __file__, 1, "failed", None, exc_info)
    obj = _format(record)
    assert obj["event"] == "log"
    assert obj["traceback"].startswith("Traceback (most recent call last):")
    assert obj["traceback"].endswith("ValueError: bad\nworse")


def test_the_relay_passes_json_lines_through_and_wraps_every_other_line() -> None:
    out = io.StringIO()
    relay = JsonRelay(out, source="huli-edu")
    relay.write('{"event": "log", "message": "from the crawl"}\nTraceback (most recent')
    relay.write(' call last):\n  File "x.py", line 1\n\n[1, 2]\n')
    lines = out.getvalue().splitlines()
    assert json.loads(lines[0]) == {"event": "log", "message": "from the crawl"}
    wrapped = [json.loads(line) for line in lines[1:]]
    assert [w["message"] for w in wrapped] == [
        "Traceback (most recent call last):",
        '  File "x.py", line 1',
        "[1, 2]",  # JSON, but not an object
    ]
    assert {(w["event"], w["source"], w["level"]) for w in wrapped} == {
        ("crawl_output", "huli-edu", "WARNING")
    }
