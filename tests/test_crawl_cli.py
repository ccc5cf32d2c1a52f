"""The operator's commands around crawls: `pairchive crawl` (--all, --quiet, Ctrl-C, exit statuses),
`pairchive runs` and `pairchive status` over what the crawls recorded."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import main
from crawler.sampleweb import SampleWeb
from storage.archive import finish_run, start_run, upsert_sources
from storage.db import close_all, open_for_writing
from tests.cli import run_cli
from tests.crawls import (
    LOOPBACK,
    WAIT,
    QuietHandler,
    crawl,
    demo_sources,
    pairchive,
    run_rows,
    serve,
    slow_sources,
    started,
)

BAD_FILE = "[[source]\nname = "


@pytest.mark.parametrize(
    "command", [["crawl"], ["crawl", "--all"], ["status"], ["sources", "list"], ["sources", "check", "x"]]
)
def test_a_sources_file_that_does_not_load_is_a_configuration_error_with_exit_status_2(
    command: list[str], tmp_path: Path
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(BAD_FILE, encoding="utf-8")
    db = [] if command[:2] == ["sources", "check"] else ["--db", str(tmp_path / "a.db")]
    result = CliRunner().invoke(main, [*command, "--sources", str(sources), *db])
    assert result.exit_code == 2
    (line,) = result.output.splitlines()
    assert line.startswith(f"Error: {sources}: malformed TOML: ")


@pytest.mark.parametrize("command", [["crawl", "--source", "nope"], ["sources", "check", "nope"]])
def test_an_unknown_source_is_a_configuration_error_with_exit_status_2(
    command: list[str], sample_web: SampleWeb, tmp_path: Path
) -> None:
    sources = demo_sources(sample_web, tmp_path)
    db = ["--db", str(tmp_path / "a.db")] if command[0] == "crawl" else []
    result = CliRunner().invoke(main, [*command, "--sources", str(sources), *db])
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {sources}: no source named 'nope' (known: china-regional-en, ")


def test_a_quiet_crawl_says_nothing_on_stderr_when_all_goes_well(
    sample_web: SampleWeb, tmp_path: Path
) -> None:
    """--quiet is for cron: no progress, no log below warnings; the summary table still goes to stdout."""
    sources = demo_sources(sample_web, tmp_path)
    result = crawl(sources, f"sqlite:///{tmp_path / 'a.db'}", "--source", "linxia-news", "--quiet")
    assert result.returncode == 0
    assert result.stderr == ""
    header, _rule, row = result.stdout.splitlines()
    assert header.split()[:4] == ["run", "source", "status", "fetched"]
    assert row.split()[1:3] == ["linxia-news", "ok"]


def test_runs_limit_lists_only_the_newest_runs(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    sessions = open_for_writing(db).sessions
    with sessions.begin() as s:
        source_id = upsert_sources(s, [{"name": "huli-edu", "title": "湖里教育网"}])["huli-edu"]
        for _ in range(5):
            finish_run(s, start_run(s, source_id, "schedule"), status="ok", counts={"fetched": 1})
    close_all()
    runner = CliRunner()
    table = runner.invoke(main, ["runs", "--limit", "2", "--db", db])
    assert table.exit_code == 0
    assert [line.split()[:4] for line in table.stdout.splitlines()[2:]] == [
        ["5", "huli-edu", "schedule", "ok"],
        ["4", "huli-edu", "schedule", "ok"],
    ]
    lines = runner.invoke(main, ["runs", "--limit", "3", "--json", "--db", db]).stdout.splitlines()
    assert [json.loads(line)["id"] for line in lines] == [5, 4, 3]
    assert runner.invoke(main, ["runs", "--limit", "0", "--db", db]).exit_code == 2


def test_ctrl_c_during_crawl_all_ends_with_the_summary_of_the_runs_so_far(
    slow_portal: tuple[str, threading.Event, threading.Event], tmp_path: Path
) -> None:
    base, asked, release = slow_portal
    sources = slow_sources(tmp_path, base)
    with sources.open("a", encoding="utf-8") as f:  # a second source, never reached
        f.write('[[source]]\nname = "later"\nstart_urls = ["http://127.0.0.1:9/"]\narticle_pattern = "/a/"\n')
    db = f"sqlite:///{tmp_path / 'a.db'}"
    with started("crawl", "--all", "--log", "--sources", str(sources), "--db", db, *LOOPBACK) as (proc, err):
        assert asked.wait(WAIT)
        os.killpg(proc.pid, signal.SIGINT)  # as the terminal does on Ctrl-C: the crawl and its worker
        release.set()
        assert proc.wait(timeout=WAIT) == 1
        err.wait_for(r"^interrupted: 1 of 2 source\(s\) crawled$")
        assert proc.stdout is not None
        table = proc.stdout.read().splitlines()
    assert "Aborted!" not in err.seen
    assert [line.split()[:3] for line in table[2:]] == [["1", "slow", "interrupted"]]
    assert [status for _, _, status, _ in run_rows(db)] == ["interrupted"]


def test_crawl_all_runs_every_source_in_turn_with_live_counts(sample_web: SampleWeb, tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(sample_web.sources_toml(), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'a.db'}"
    result = pairchive("crawl", "--all", "--progress", "--sources", str(sources), "--db", db, *LOOPBACK)
    assert result.returncode == 0, result.stderr
    names = ["huli-edu", "linxia-news", "fj-observer", "china-regional-en"]
    table = result.stdout.splitlines()
    assert [line.split()[1] for line in table[2:]] == names  # one run each, in the file's order
    for name in names:  # a final counts line per source on stderr
        assert re.search(rf"^- {name}: \d+ fetched · \d+ stored · .* · \d+s$", result.stderr, re.M)
    run_ids = [int(line.split()[0]) for line in table[2:]]
    assert run_ids == sorted(run_ids)
    assert pairchive("crawl", "--all", "--source", "huli-edu", "--db", db).returncode == 2

    # what the operator reads afterwards
    runs = run_cli("runs", "--db", db).stdout.splitlines()
    assert [line.split()[:4] for line in runs[2:]] == [
        [str(run_id), name, "cli", "ok"] for run_id, name in reversed(list(zip(run_ids, names, strict=True)))
    ]
    assert len(run_cli("runs", "--source", "linxia-news", "--db", db).stdout.splitlines()) == 3
    assert run_cli("runs", "--failed", "--db", db).stderr.strip() == "no runs recorded"
    shown = run_cli("runs", "show", str(run_ids[0]), "--db", db).stdout
    assert f"run {run_ids[0]} of huli-edu" in shown and "status: ok" in shown
    assert re.search(
        r"^  not_pairing +http://127\.0\.0\.1:\d+/edu/\S+  score 0\.\d+ < 0\.5; for: ", shown, re.M
    )
    assert "exit code: 0" in shown
    status = run_cli("status", "--sources", str(sources), "--db", db).stdout.splitlines()
    for line, (run_id, name) in zip(status[2:], zip(run_ids, names, strict=True), strict=True):
        # failures in a row, degraded in a row, the last verdict (a first run has no history) and no crawl now
        pattern = (
            rf"{name} +\d{{4}}-\d\d-\d\d \d\d:\d\d:00Z +schedule +{run_id} ok .* 0 +0 +no verdict: .* +-$"
        )
        assert re.match(pattern, line), line
    assert run_cli("runs", "show", "999", "--db", db).stderr.strip() == "Error: no run with id 999"


def test_failed_runs_are_listed_and_counted_in_a_row(tmp_path: Path) -> None:
    """A dead portal: each run fails with why, `runs --failed` lists them, `status` counts them."""
    with serve(QuietHandler) as base:  # answers nothing but errors
        dead = base
    sources = tmp_path / "sources.toml"
    sources.write_text(
        f'[[source]]\nname = "dead"\nstart_urls = ["{dead}/list.html"]\narticle_pattern = "/a/"\n',
        encoding="utf-8",
    )
    db = f"sqlite:///{tmp_path / 'a.db'}"
    for quiet in ([], ["--quiet"]):
        result = pairchive(
            "crawl", "--sources", str(sources), "--db", db, "-s", "RETRY_TIMES=0", *quiet, *LOOPBACK
        )
        assert result.returncode == 1
    # quiet, as under cron: only errors on stderr, ending with why the run failed
    levels = re.findall(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (\w+) ", result.stderr, re.M)
    assert levels and set(levels) <= {"WARNING", "ERROR", "CRITICAL"}
    assert result.stderr.splitlines()[-1].startswith("run 2 (dead) failed: no page could be fetched")
    failed = run_cli("runs", "--failed", "--json", "--db", db).stdout.splitlines()
    assert len(failed) == 2
    assert all("no page could be fetched" in json.loads(line)["error"] for line in failed)
    (line,) = run_cli("status", "--sources", str(sources), "--db", db, "--json").stdout.splitlines()
    record = json.loads(line)
    assert record["consecutive_failures"] == 2 and record["last_run"]["status"] == "failed"
    assert record["last_ok"] is None and record["crawling_now"] is None


def test_crawl_all_is_crawl_without_source_every_source_in_turn(tmp_path: Path) -> None:
    # two portals that refuse connections: each run fails at once, and the runs say which were crawled
    sources = tmp_path / "sources.toml"
    sources.write_text(
        "".join(
            f'[[source]]\nname = "{name}"\nstart_urls = ["http://127.0.0.1:9/list.html"]\narticle_pattern = "/a/"\n'
            for name in ("first", "second")
        ),
        encoding="utf-8",
    )
    crawled: dict[str, list[str]] = {}
    for label, args in (("bare", []), ("all", ["--all"])):
        db = f"sqlite:///{tmp_path / f'{label}.db'}"
        result = crawl(sources, db, *args, "-s", "RETRY_TIMES=0")
        assert result.returncode in (0, 1), result.stderr[-2000:]
        crawled[label] = re.findall(r"^\d+\s+(\S+)\s", result.stdout, re.MULTILINE)
    assert crawled == {"bare": ["first", "second"], "all": ["first", "second"]}
    help_text = CliRunner().invoke(main, ["crawl", "--help"]).output
    assert "what `crawl` without --source does" in " ".join(help_text.split())
