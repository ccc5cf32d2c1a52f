"""Extraction health and drift from real crawls of the sample web: a portal crawled night after night is
`ok` with its health stored; redesigned (the sample web's second template), its next run is `degraded`
with the reason, `runs show`, `runs --degraded` and `status` say so, and `crawl` exits with status 4."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.cli.crawl import EXIT_DEGRADED
from crawler.sampleweb import SampleWeb
from storage.db import close_all, open_for_reading
from storage.health import MIN_HISTORY
from storage.models import CrawlRun
from storage.outcomes import RunStatus
from tests.crawls import crawl, demo_sources, pairchive

PORTAL = "fj-observer"
NIGHTLY = 12  # new stories a night: 12 article pages, 6 of them pairings


@pytest.fixture
def web() -> Iterator[SampleWeb]:
    """A sample web of this test's own: it is redesigned half-way, which no other test may see."""
    with SampleWeb() as own:
        yield own


def _runs(db: str) -> list[CrawlRun]:
    with open_for_reading(db).sessions() as s:
        runs = list(s.query(CrawlRun).order_by(CrawlRun.id))
        s.expunge_all()
    close_all()
    return runs


def _nights(web: SampleWeb, tmp_path: Path, nights: int) -> tuple[Path, str]:
    """`nights` crawls of the portal, each after it published NIGHTLY new stories, each asserted ok."""
    sources = demo_sources(web, tmp_path)
    db = f"sqlite:///{tmp_path / 'a.db'}"
    for _ in range(nights):
        result = _next_night(web, sources, db)
        assert result.returncode == 0, result.stderr[-2000:]
    return sources, db


def _next_night(web: SampleWeb, sources: Path, db: str) -> Any:
    web.publish(PORTAL, web.published.get(PORTAL, -4) + NIGHTLY)  # its own 4 stories are the first night's
    return crawl(sources, db, "--source", PORTAL)


def test_a_redesigned_portal_degrades_its_next_run_and_only_that_one(web: SampleWeb, tmp_path: Path) -> None:
    sources, db = _nights(web, tmp_path, MIN_HISTORY + 1)
    before = _runs(db)
    assert [r.status for r in before] == [RunStatus.OK] * (MIN_HISTORY + 1)
    first, *later = [r.health for r in before]
    assert first is not None and first["pages"] == NIGHTLY and first["no_text"] == 0.0
    assert first["verdict_line"] == f"no verdict: 0 ok runs of history, {MIN_HISTORY} needed"
    assert all(h is not None and h["pages"] == NIGHTLY and h["median_chars"] > 1000 for h in later)
    assert later[-1] is not None and later[-1]["verdict"] == "steady", later[-1]

    checked = _check(sources, db)
    assert checked.returncode == 0, checked.stderr[-2000:]
    assert "verdict: steady: like the last" in checked.stdout, checked.stdout

    web.use_template(PORTAL, "links")
    result = _next_night(web, sources, db)
    assert result.returncode == EXIT_DEGRADED, result.stderr[-2000:]
    *kept, run = _runs(db)
    assert [r.status for r in kept] == [r.status for r in before]  # the runs before stay as they were
    assert run.status == RunStatus.DEGRADED and run.error is None
    assert run.health is not None and run.health["no_text"] == 1.0
    line = run.health["verdict_line"]
    assert line == "no text on 100% of article pages (usually 0%)", line
    assert f"run {run.id} ({PORTAL}) degraded: {line}" in result.stderr

    shown = pairchive("runs", "show", str(run.id), "--db", db)
    assert shown.returncode == 0, shown.stderr
    assert "degraded" in shown.stdout and line in shown.stdout and "no text 100%" in shown.stdout
    record = json.loads(pairchive("runs", "show", str(run.id), "--db", db, "--json").stdout)
    assert record["status"] == "degraded" and record["health"]["verdict_line"] == line
    listed = pairchive("runs", "--degraded", "--db", db, "--json").stdout.splitlines()
    assert [json.loads(row)["id"] for row in listed] == [run.id]
    _status_shows(sources, db, run.id, line)
    # one fresh fetch says the same; its one article without text fails the check, which wins over degraded
    checked = _check(sources, db)
    assert checked.returncode == 1, checked.stderr[-2000:]
    assert "article: " in checked.stdout and f"verdict: {line}" in checked.stdout, checked.stdout

    # the operator says the new template is the portal's new normal: the run is ok, its health accepted
    accepted = pairchive("runs", "accept", str(run.id), "--db", db)
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.strip() == f"accepted run {run.id} of {PORTAL}: the source's new normal"
    assert _runs(db)[-1].status == RunStatus.OK
    again = pairchive("runs", "accept", str(run.id), "--db", db)
    assert again.returncode == 1 and again.stderr.strip() == (
        f"Error: run {run.id} is ok, not degraded: only a degraded run can be accepted"
    )
    missing = pairchive("runs", "accept", "999999", "--db", db)
    assert missing.returncode == 1 and missing.stderr.strip() == "Error: no run with id 999999"


def _check(sources: Path, db: str) -> Any:
    return pairchive("sources", "check", PORTAL, "--sources", str(sources), "--db", db, "--against-history")


def _status_shows(sources: Path, db: str, run_id: int, line: str) -> None:
    status = pairchive("status", "--sources", str(sources), "--db", db)
    assert status.returncode == 0, status.stderr
    row = next(r for r in status.stdout.splitlines() if r.startswith(PORTAL))
    assert f"{run_id} degraded" in row and line in row
    assert "degraded in a row" in status.stdout and "last verdict" in status.stdout
    records: list[dict[str, Any]] = [
        json.loads(r)
        for r in pairchive("status", "--sources", str(sources), "--db", db, "--json").stdout.splitlines()
    ]
    (mine,) = [r for r in records if r["source"] == PORTAL]
    assert mine["consecutive_degraded"] == 1 and mine["consecutive_failures"] == 0
    assert mine["last_verdict"] == line and mine["last_run"]["status"] == "degraded"


def test_a_redesign_that_halves_the_text_degrades_the_run_without_calling_it_textless(
    web: SampleWeb, tmp_path: Path
) -> None:
    sources, db = _nights(web, tmp_path, MIN_HISTORY + 1)
    web.use_template(PORTAL, "half")
    result = _next_night(web, sources, db)
    assert result.returncode == EXIT_DEGRADED, result.stderr[-2000:]
    run = _runs(db)[-1]
    assert run.status == RunStatus.DEGRADED and run.health is not None
    line, before = run.health["verdict_line"], _runs(db)[-2].health
    assert before is not None and run.health["median_chars"] < before["median_chars"] / 2
    # The sample portal's stories run from briefs to long reports (its history measures the spread): over
    # its dozen pages a halved median alone is within a night's luck, so the verdict names what else the
    # redesign lost (the byline at the story's end went into the link list), never a text that is gone.
    assert "no text" not in line and ("median text" in line or "author or outlet" in line), line
    checked = _check(sources, db)  # its first article still has text: the check's status is the verdict's
    assert checked.returncode == EXIT_DEGRADED, checked.stdout + checked.stderr[-2000:]
    assert "verdict: " in checked.stdout and line.split(" (")[0] in checked.stdout, checked.stdout
