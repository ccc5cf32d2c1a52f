"""`pairchive search` and `show` as an archivist runs them: every flag through the command line, output that
pipes, and where each story came from."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crawler.cli import main
from storage.archive import insert_article, start_run, upsert_sources
from storage.db import close_all, open_for_writing
from storage.normalize import search_form

SHANGHAI = timezone(timedelta(hours=8))
STORIES = [
    # (title, text, published, language, is_pairing)
    ("湖里区与临夏县学校结对帮扶", "两地学校结对帮扶，教师互派交流。", datetime(2022, 6, 16, 10), "zh-Hans", True),
    ("湖里區學校結對共建", "湖里區16所學校與閩寧鎮學校結對共建。", datetime(2022, 9, 1, 8), "zh-Hant", True),
    ("医院结对帮扶", "两地医院结对帮扶，医生下乡义诊。", datetime(2022, 7, 1, 9), "zh-Hans", False),
    ("Schools pair up", "Schools in Xiamen and Linxia signed a pairing agreement.", datetime(2022, 8, 1), "en", True),
]  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> Any:
    sessions = open_for_writing(f"sqlite:///{tmp_path / 'a.db'}").sessions
    with sessions.begin() as s:
        source_id = upsert_sources(s, [{"name": "p", "title": "Portal", "timezone": "Asia/Shanghai"}])["p"]
        run_id = start_run(s, source_id, "cli")
        for n, (title, text, published, language, pairing) in enumerate(STORIES, 1):
            insert_article(
                s,
                {
                    "source_id": source_id,
                    "run_id": run_id,
                    "url": f"http://portal.example/{n}.html",
                    "fetched_url": f"http://portal.example/{n}.html",
                    "title": title,
                    "published": published.replace(tzinfo=SHANGHAI),
                    "author": None,
                    "source_name": None,
                    "language": language,
                    "text": text,
                    "search_text": search_form(text),
                    "relevance": 1.0 if pairing else 0.1,
                    "is_pairing": pairing,
                    "relevance_terms": [],
                    "content_hash": f"{n:064d}",
                    "charset": "utf-8",
                    "http_status": 200,
                    "first_seen": datetime(2022, 10, 1, tzinfo=UTC),
                },
            )
    close_all()
    yield str(tmp_path / "a.db")
    close_all()


def search(db: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["search", *args, "--db", db])


def ids(result: Any) -> list[int]:
    assert result.exit_code == 0, result.output
    return [json.loads(line)["id"] for line in result.stdout.splitlines()]


def test_json_hits_are_one_object_per_line_with_the_published_time_in_the_portal_zone(db: str) -> None:
    result = search(db, "结对", "--json", "--sort", "date")
    hits = [json.loads(line) for line in result.stdout.splitlines()]
    assert [h["id"] for h in hits] == [2, 1]  # pairing stories only, by default
    assert hits[1]["published"] == "2022-06-16T10:00:00+08:00"
    assert "[結對]" in hits[0]["snippet"]  # the traditional story, marked as it was published
    assert set(hits[0]) == {"id", "title", "source", "published", "language", "relevance", "url", "snippet"}


def test_csv_hits_have_a_header_and_parse_back(db: str) -> None:
    result = search(db, "结对", "--csv", "--sort", "date")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [int(r["id"]) for r in rows] == [2, 1]
    assert rows[1]["url"] == "http://portal.example/1.html" and rows[1]["source"] == "p"


def test_all_includes_stories_not_judged_pairings(db: str) -> None:
    assert ids(search(db, "结对帮扶", "--json")) == [1]
    assert sorted(ids(search(db, "结对帮扶", "--all", "--json"))) == [1, 3]


def test_language_days_source_and_limit_narrow_the_hits(db: str) -> None:
    assert ids(search(db, "结对", "--lang", "zh-Hant", "--json")) == [2]
    assert sorted(ids(search(db, "结对", "--lang", "zh", "--json"))) == [1, 2]
    assert ids(search(db, "结对", "--since", "2022-09-01", "--json")) == [2]
    assert ids(search(db, "结对", "--until", "2022-06-16", "--json")) == [1]
    assert ids(search(db, "结对", "--source", "other", "--json")) == []
    assert len(ids(search(db, "结对", "--all", "--limit", "2", "--json"))) == 2


def test_english_words_and_phrases_are_found(db: str) -> None:
    assert ids(search(db, "pairing", "--json")) == [4]
    assert ids(search(db, '"pairing agreement"', "--json")) == [4]
    assert ids(search(db, '"agreement pairing"', "--json")) == []
    assert sorted(ids(search(db, "pairing OR 閩寧鎮", "--json"))) == [2, 4]


def test_the_plain_listing_shows_title_source_day_and_snippet(db: str) -> None:
    result = search(db, "闽宁镇")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "[2] 湖里區學校結對共建"
    assert "p · 2022-09-01 · zh-Hant · http://portal.example/2.html" in lines[1]
    assert "[閩寧鎮]" in lines[2]


@pytest.mark.parametrize(
    "args, message",
    [
        (["结对", "--json", "--csv"], "--json and --csv cannot be used together"),
        (["结对", "--since", "1 June"], "'1 June' does not match the format '%Y-%m-%d'"),
        (["结对", "--sort", "size"], "'size' is not one of 'relevance', 'date'"),
        (["结对", "--limit", "0"], "0 is not in the range"),
    ],
)
def test_bad_flags_are_usage_errors(db: str, args: list[str], message: str) -> None:
    result = search(db, *args)
    assert result.exit_code == 2 and message in result.output


@pytest.mark.parametrize("query", ["(" * 3000, "结对 OR -帮扶", "(结对"])
def test_a_query_that_cannot_be_searched_is_one_line_and_exit_1(db: str, query: str) -> None:
    result = search(db, query)
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: cannot search ")


def test_show_tells_where_and_when_the_story_was_fetched(db: str) -> None:
    result = CliRunner().invoke(main, ["show", "2", "--db", db])
    assert result.exit_code == 0, result.output
    fields = dict(line.strip().split(": ", 1) for line in result.stdout.splitlines()[2:] if ": " in line[:16])
    assert fields["url"] == "http://portal.example/2.html"
    assert fields["published"] == "2022-09-01T08:00:00+08:00"
    assert fields["fetched at"] == "2022-10-01T00:00:00+00:00"  # its revision's fetch
    assert fields["http status"] == "200" and fields["charset"] == "utf-8"
    assert fields["content hash"] == f"{2:064d}"
    assert "fetched url" not in fields  # the same as the URL
    record = json.loads(CliRunner().invoke(main, ["show", "2", "--json", "--db", db]).stdout)
    assert record["fetched_at"] == fields["fetched at"] and record["sightings"][0]["url"] == fields["url"]


def test_show_and_export_tell_which_stages_judged_a_story_and_why_a_reprocess_flagged_it(db: str) -> None:
    from sqlalchemy import update

    from storage.models import Article

    sessions = open_for_writing(f"sqlite:///{db}").sessions
    with sessions.begin() as s:
        versions = {"extract": "3", "clean": "2", "relevance": "logistic-0123456789ab"}
        s.execute(update(Article).where(Article.id == 3).values(
            stage_versions=versions, is_pairing=False, flag_reason="not_pairing",
            flag_detail="score 0.120 < 0.5", flagged_at=datetime(2026, 12, 1, tzinfo=UTC), flag_run_id=1,
        ))  # fmt: skip
    close_all()
    shown = CliRunner().invoke(main, ["show", "3", "--db", db]).stdout
    assert "judged by: clean 2, extract 3, relevance logistic-0123456789ab" in shown
    assert "flagged: not_pairing by run 1: score 0.120 < 0.5" in shown
    older = CliRunner().invoke(main, ["show", "1", "--db", db]).stdout
    assert "judged by: before versions were recorded" in older and "flagged:" not in older
    record = json.loads(CliRunner().invoke(main, ["show", "3", "--json", "--db", db]).stdout)
    assert record["stage_versions"] == versions
    assert record["flag"] == {"reason": "not_pairing", "detail": "score 0.120 < 0.5",
                              "flagged_at": "2026-12-01T00:00:00+00:00", "run_id": 1}  # fmt: skip
    exported = CliRunner().invoke(main, ["export", "--format", "csv", "--db", db]).stdout
    rows = {int(r["id"]): r for r in csv.DictReader(io.StringIO(exported))}
    assert rows[3]["flag_reason"] == "not_pairing" and rows[1]["flag_reason"] == ""
    assert rows[3]["stage_versions"].startswith("clean 2, extract 3")
    lines = CliRunner().invoke(main, ["export", "--db", db]).stdout.splitlines()
    assert [json.loads(line)["flag"] for line in lines] == [None, None, record["flag"], None]
