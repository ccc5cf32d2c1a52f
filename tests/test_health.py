"""Extraction health and drift: the verdict on a run's health against its source's history (storage.health),
the cleaning rules' count of boilerplate left, the runs that make the history, the standing `status` shows,
and migration 0012."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from pipelines.clean import boilerplate_lines, clean_text
from storage.archive import finish_run, start_run, upsert_sources
from storage.db import SCHEMA_HEAD, alembic_config, current_revision, make_engine, open_for_writing
from storage.errors import StorageError
from storage.health import HISTORY_RUNS, MIN_HISTORY, MIN_PAGES, health_of, judge
from storage.models import CrawlRun
from storage.outcomes import RunStatus
from storage.runs import accept_degraded, health_history, judge_run, list_runs, standing

USUAL: dict[str, Any] = {
    "pages": 20,
    "with_text": 20,
    "no_text": 0.0,
    "median_chars": 1240,
    "dated": 0.95,
    "credited": 0.9,
    "gate": 0.6,
    "boilerplate": 0.05,
    "duplicate": 0.0,
}


def _history(n: int = HISTORY_RUNS, seed: int = 7) -> list[dict[str, Any]]:
    """`n` healths of an unchanged portal: the usual numbers, wandering a little from night to night."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        pages = rng.randint(15, 30)
        no_text = rng.choice([0, 0, 1])
        out.append(
            {
                **USUAL,
                "pages": pages,
                "with_text": pages - no_text,
                "no_text": round(no_text / pages, 4),
                "median_chars": rng.randint(1050, 1450),
                "dated": rng.choice([0.9, 0.95, 1.0]),
                "credited": rng.choice([0.85, 0.9, 0.95]),
                "gate": rng.choice([0.55, 0.6, 0.65]),
                "boilerplate": rng.choice([0.0, 0.05, 0.1]),
            }
        )
    return out


def test_a_run_like_its_history_is_steady() -> None:
    verdict = judge(_history()[0], _history(seed=8))
    assert verdict.word == "steady" and not verdict.degraded
    assert verdict.line == f"steady: like the last {HISTORY_RUNS} ok runs"


def test_a_perfectly_steady_history_does_not_alarm_at_a_small_change() -> None:
    history = [dict(USUAL) for _ in range(HISTORY_RUNS)]  # no spread at all
    small = {**USUAL, "no_text": 0.1, "median_chars": 900, "dated": 0.8, "gate": 0.45, "boilerplate": 0.2}
    assert judge(small, history).word == "steady"


def test_a_hundred_runs_of_an_unchanged_portal_raise_no_alarm() -> None:
    rng = random.Random(18)
    history: list[dict[str, Any]] = []
    for _ in range(100):
        pages = rng.randint(MIN_PAGES, 40)
        no_text = sum(rng.random() < 0.03 for _ in range(pages))
        lengths = [int(rng.lognormvariate(7.1, 0.6)) for _ in range(pages - no_text)]
        with_text = len(lengths)

        def some(p: float, n: int = with_text) -> int:
            return sum(rng.random() < p for _ in range(n))

        health = health_of(
            pages=pages,
            no_text=no_text,
            lengths=lengths,
            dated=some(0.95),
            credited=some(0.8),
            gate=some(min(max(rng.gauss(0.4, 0.08), 0), 1)),
            boilerplate=some(0.05),
            duplicate=some(0.05),
        )
        verdict = judge(health, history[::-1])
        assert not verdict.degraded, (verdict.line, health)
        history.append(health)


@pytest.mark.parametrize(
    ("shift", "reason"),
    [
        ({"no_text": 0.6, "with_text": 8}, "no text on 60% of article pages (usually 0%)"),
        ({"median_chars": 520}, "median text 520 chars (usually 1,"),
        ({"dated": 0.05}, "a date found on 5% of texts (usually "),
        ({"credited": 0.1}, "an author or outlet on 10% of texts (usually "),
        ({"gate": 0.0}, "0% of texts pass the relevance gate (usually "),
        ({"boilerplate": 0.7}, "boilerplate lines left in 70% of texts (usually "),
        ({"duplicate": 0.8}, "80% of article pages are duplicates (usually 0%)"),
    ],
    ids=["no_text", "median_chars", "dated", "credited", "gate", "boilerplate", "duplicate"],
)
def test_a_large_shift_degrades_the_run_with_its_reason_in_one_line(
    shift: Mapping[str, Any], reason: str
) -> None:
    verdict = judge({**USUAL, **shift}, _history())
    assert verdict.degraded
    assert verdict.line.startswith(reason), verdict.line
    assert ";" not in verdict.line and "\n" not in verdict.line  # that one measure alone


def test_several_shifts_are_said_in_one_line_in_a_fixed_order() -> None:
    broken = {**USUAL, "no_text": 0.58, "with_text": 8, "median_chars": 310}
    line = judge(broken, [{**h, "no_text": 0.02} for h in _history()]).line
    assert line.startswith("no text on 58% of article pages (usually 2%); median text 310 chars (usually 1,")
    assert "\n" not in line


def test_a_run_without_any_text_is_said_once_not_again_as_lost_dates() -> None:
    blank = health_of(
        pages=12, no_text=12, lengths=[], dated=0, credited=0, gate=0, boilerplate=0, duplicate=0
    )
    assert blank["median_chars"] is None and blank["dated"] is None
    assert judge(blank, _history()).line == "no text on 100% of article pages (usually 0%)"


def test_the_lengths_spread_is_measured_per_run_and_none_for_too_few_texts() -> None:
    even = health_of(
        pages=8,
        no_text=0,
        lengths=[1000, 1100, 1200, 1300, 1000, 1100, 1200, 1300],
        dated=8,
        credited=8,
        gate=4,
        boilerplate=0,
        duplicate=0,
    )
    mixed = health_of(
        pages=8,
        no_text=0,
        lengths=[150, 200, 300, 2500, 3000, 4000, 180, 3500],
        dated=8,
        credited=8,
        gate=4,
        boilerplate=0,
        duplicate=0,
    )
    few = health_of(
        pages=3, no_text=0, lengths=[100, 200, 300], dated=3, credited=3, gate=1, boilerplate=0, duplicate=0
    )
    assert 0 < even["chars_spread"] < 0.2 < 1.0 < mixed["chars_spread"]
    assert few["chars_spread"] is None


def test_a_halved_median_is_news_for_a_portal_of_even_lengths_but_not_for_one_of_briefs_and_reports() -> None:
    halved = {**USUAL, "pages": 10, "with_text": 10, "median_chars": 560}
    even = [{**h, "chars_spread": 0.3} for h in _history()]
    mixed = [{**h, "chars_spread": 1.4} for h in _history()]
    assert judge(halved, even).line.startswith("median text 560 chars (usually 1,")
    # ten pages of a portal whose stories run from 150 to 4,000 characters: a median of 560 is a night's luck
    assert not judge(halved, mixed).degraded
    # runs recorded before the spread was kept are judged with the least spread, as before
    assert judge(halved, _history()).degraded


def test_a_short_history_gives_no_verdict_and_says_so() -> None:
    verdict = judge(USUAL, _history(MIN_HISTORY - 1))
    assert verdict.word == "no_verdict" and not verdict.degraded
    assert verdict.line == f"no verdict: {MIN_HISTORY - 1} ok runs of history, {MIN_HISTORY} needed"
    assert judge(USUAL, []).line == f"no verdict: 0 ok runs of history, {MIN_HISTORY} needed"


def test_a_run_of_too_few_pages_gives_no_verdict_and_runs_of_too_few_are_no_history() -> None:
    assert judge({**USUAL, "pages": 3}, _history()).line == f"no verdict: 3 article pages, {MIN_PAGES} needed"
    small = [{**h, "pages": MIN_PAGES - 1} for h in _history()]
    assert judge(USUAL, small).line.startswith("no verdict: 0 ok runs of history")


# --- the cleaning rules' own count of boilerplate left -------------------------------------------------


def test_boilerplate_left_is_counted_by_the_cleaning_rules_own_patterns() -> None:
    story = "湖里区16所学校与闽宁镇16所学校结对共建，双方将在教学、教研等方面深入合作，共同提高。" * 3
    assert boilerplate_lines(clean_text(story).text) == 0
    # a lone dated headline and a lone footer line too long to cut stay in the text; they look like
    # what the rules drop, and are counted
    lone = f"{story}\n- 全州教师节表彰大会召开2022-09-10\n两校教师互派交流，学生手拉手结对，共建教育共同体。"
    assert clean_text(lone).text.count("\n") == 2  # kept by cleaning: one dated line is not a list
    assert boilerplate_lines(clean_text(lone).text) == 1
    assert boilerplate_lines("关键词: 结对\n分享到：微信 微博\n" + story) == 2


# --- the history: the source's ok runs, not its degraded ones --------------------------------------------


def _runs(db_url: str, statuses: Sequence[str], health: Mapping[str, Any] = USUAL) -> tuple[Any, list[int]]:
    sessions = open_for_writing(db_url).sessions
    ids = []
    with sessions.begin() as s:
        source_id = upsert_sources(s, [{"name": "p", "title": "Portal"}])["p"]
        other_id = upsert_sources(s, [{"name": "q", "title": "Other"}])["q"]
        other = start_run(s, other_id, "cli")  # another source's history is not this one's
        finish_run(s, other, status=RunStatus.OK, counts={}, health={**USUAL, "median_chars": 9})
        for status in statuses:
            run_id = start_run(s, source_id, "cli")
            finish_run(s, run_id, status=status, counts={}, health=dict(health))
            ids.append(run_id)
    return sessions, ids


def test_the_history_is_the_sources_ok_runs_before_the_run_newest_first(db_url: str) -> None:
    statuses = [RunStatus.OK, RunStatus.DEGRADED, RunStatus.FAILED, RunStatus.OK, RunStatus.RUNNING]
    sessions, ids = _runs(db_url, statuses)
    with sessions.begin() as s:
        s.get_one(CrawlRun, ids[0]).health = {**USUAL, "median_chars": 1000}
        s.get_one(CrawlRun, ids[3]).health = {**USUAL, "median_chars": 1300}
    with sessions() as s:
        source_id = s.get_one(CrawlRun, ids[0]).source_id
        assert [h["median_chars"] for h in health_history(s, source_id, before=ids[4])] == [1300, 1000]
        assert health_history(s, source_id, before=ids[0]) == []
        assert [h["median_chars"] for h in health_history(s, source_id)] == [1300, 1000]


def test_degraded_runs_do_not_enter_the_baseline_so_a_broken_portal_stays_degraded(db_url: str) -> None:
    sessions, ids = _runs(db_url, [RunStatus.OK] * MIN_HISTORY)
    broken = {**USUAL, "no_text": 0.9, "with_text": 2}
    for _ in range(HISTORY_RUNS + 2):  # more broken nights than the baseline holds
        with sessions.begin() as s:
            run_id = start_run(s, s.get_one(CrawlRun, ids[0]).source_id, "cli")
            health, verdict = judge_run(s, run_id, broken)
            assert verdict.degraded, verdict.line
            finish_run(s, run_id, status=RunStatus.DEGRADED, counts={}, health=health)
    with sessions() as s:
        stored = s.get_one(CrawlRun, run_id).health
        assert stored is not None and stored["verdict"] == "degraded"
        assert stored["verdict_line"] == "no text on 90% of article pages (usually 0%)"
        assert len(health_history(s, stored_source(s, run_id), before=run_id)) == MIN_HISTORY


def test_an_accepted_degraded_run_is_the_sources_new_normal_and_the_runs_before_it_leave_the_baseline(
    db_url: str,
) -> None:
    shorter = {**USUAL, "credited": 0.0}  # a portal that dropped its bylines for good
    sessions, ids = _runs(db_url, [RunStatus.OK] * 5)
    degraded = []
    with sessions.begin() as s:
        source_id = stored_source(s, ids[0])
        for _ in range(2):
            run_id = start_run(s, source_id, "cli")
            health, verdict = judge_run(s, run_id, dict(shorter))
            assert verdict.degraded and "author or outlet on 0%" in verdict.line
            finish_run(s, run_id, status=RunStatus.DEGRADED, counts={}, health=health)
            degraded.append(run_id)
    with sessions.begin() as s:
        accepted = accept_degraded(s, degraded[-1])
        assert [r.id for r in accepted] == degraded  # both nights since the last ok run
    with sessions.begin() as s:
        runs = [s.get_one(CrawlRun, i) for i in degraded]
        assert all(r.status == RunStatus.OK and r.health and r.health["accepted"] for r in runs)
        # the baseline is the accepted runs alone: two, fewer than a verdict needs
        assert len(health_history(s, source_id)) == 2
        run_id = start_run(s, source_id, "cli")
        health, verdict = judge_run(s, run_id, dict(shorter))
        assert verdict.word == "no_verdict" and "2 ok runs of history" in verdict.line
        finish_run(s, run_id, status=RunStatus.OK, counts={}, health=health)
        # from the third night on, the new normal is steady, and the old bylines would now be the change
        later = start_run(s, source_id, "cli")
        assert judge_run(s, later, dict(shorter))[1].word == "steady"
    with sessions.begin() as s, pytest.raises(StorageError, match="is ok, not degraded"):
        accept_degraded(s, ids[0])


def stored_source(session: Any, run_id: int) -> int:
    return int(session.get_one(CrawlRun, run_id).source_id)


def test_status_counts_degraded_runs_apart_from_failures(db_url: str) -> None:
    ok, degraded, failed = RunStatus.OK, RunStatus.DEGRADED, RunStatus.FAILED
    sessions, ids = _runs(db_url, [ok, degraded, failed, degraded, failed, failed])
    with sessions.begin() as s:
        s.get_one(CrawlRun, ids[3]).health = {**USUAL, "verdict": "degraded", "verdict_line": "no text"}
    with sessions() as s:
        stand = standing(s, ["p"])["p"]
        assert stand.consecutive_failures == 2  # the newest failed runs, up to a run that ended by itself
        assert stand.consecutive_degraded == 2  # the degraded runs since the last ok one
        assert stand.last_verdict == "no text"
        assert [r.id for r in list_runs(s, degraded=True)] == [ids[3], ids[1]]
        assert [r.id for r in list_runs(s, failed=True)] == [ids[5], ids[4], ids[2]]
        assert len(list_runs(s, failed=True, degraded=True)) == 5


# --- migration 0012 -----------------------------------------------------------------------------------


def test_migration_0012_adds_the_health_column_and_allows_degraded_and_its_downgrade_keeps_the_runs(
    db_url: str,
) -> None:
    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0011")
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
                " SELECT id, 'cli', 'ok', :t, '{}' FROM sources"
            ),
            {"t": seen},
        )
    engine.dispose()
    sessions = open_for_writing(db_url).sessions
    engine = open_for_writing(db_url).engine
    assert current_revision(engine) == SCHEMA_HEAD
    with sessions.begin() as s:
        (run,) = s.scalars(sa.select(CrawlRun)).all()
        assert run.status == RunStatus.OK and run.health is None  # nothing stored changed
        run.status, run.health = RunStatus.DEGRADED, {**USUAL, "verdict": "degraded"}
    command.downgrade(alembic_config(engine), "0011")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status FROM crawl_runs")).scalars().all() == ["ok"]
        columns = {c["name"] for c in sa.inspect(conn).get_columns("crawl_runs")}
    assert "health" not in columns
