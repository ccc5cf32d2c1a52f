"""Class 2, secrets in output: the database URLs and the portal address of tests.hostile.c02_secrets carry
a password. Every command given a database URL it cannot use says so in one line without the password;
a crawl of a portal whose address carries one, into a database of either kind (on PostgreSQL, reached by
a URL with a password too), leaves the password in no output, no log line and no run record."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from sqlalchemy.engine import make_url

from crawler.cli import main
from storage.db import close_all, open_database
from storage.models import CrawlRun
from tests.conftest import PG_ENV
from tests.crawls import LOOPBACK
from tests.hostile import HostileWeb, c02_secrets
from tests.hostile.archives import DATABASES, database

SECRET = c02_secrets.SECRET
BAD_URLS = [*c02_secrets.UNREACHABLE, *c02_secrets.UNPARSABLE, *c02_secrets.REFUSING]
COMMANDS = [
    ["db", "status"],
    ["db", "upgrade"],
    ["search", "结对"],
    ["show", "1"],
    ["stories"],
    ["export", "--format", "csv"],
    ["runs"],
    ["runs", "show", "1"],
    ["warc", "verify"],
    ["reprocess"],
]


def expand(template: str) -> str:
    """A case's URL with the secret, and the test server's address where it names one."""
    if "{pg}" in template:
        base = os.environ.get(PG_ENV)
        if not base:
            pytest.skip(f"a server that refuses needs {PG_ENV}")
        url = make_url(base)
        template = template.replace("{pg}", f"{url.host}:{url.port or 5432}")
    return template.replace("{secret}", SECRET)


def cli(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    close_all()
    return result


def one_error_line(output: str) -> str:
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, output
    return errors[0]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
@pytest.mark.parametrize("template", BAD_URLS)
def test_a_database_url_that_cannot_be_used_is_one_error_line_without_its_password(
    template: str, command: list[str], tmp_path: Path
) -> None:
    url = expand(template)
    result = CliRunner().invoke(main, [*command, "--db", url, "--data-dir", str(tmp_path)])
    close_all()
    assert result.exit_code in (1, 2), result.output
    one_error_line(result.output)
    assert SECRET not in result.output


def _sources(folder: Path, hostile: HostileWeb) -> Path:
    sources = folder / "sources.toml"
    sources.write_text(
        f'[[source]]\nname = "c02"\nstart_urls = ["{hostile.url(2, "private/list.html")}"]\n'
        'article_pattern = "/c02/"\nschedule = "0 2 * * *"\n',
        encoding="utf-8",
    )
    return sources


@pytest.mark.parametrize("template", BAD_URLS)
def test_a_crawl_on_a_database_it_cannot_use_is_one_line_without_the_password(
    template: str, tmp_path: Path, hostile: HostileWeb
) -> None:
    url = expand(template)
    args = ["crawl", "--all", "--sources", str(_sources(tmp_path, hostile)), "--db", url, *LOOPBACK]
    result = CliRunner().invoke(main, [*args, "--data-dir", str(tmp_path / "data")])
    close_all()
    assert result.exit_code in (1, 2), result.output
    one_error_line(result.output)
    assert SECRET not in result.output


@pytest.mark.parametrize("template", [c02_secrets.UNPARSABLE[0], *c02_secrets.REFUSING])
def test_the_daemon_on_a_database_it_cannot_use_logs_no_password(
    template: str, tmp_path: Path, hostile: HostileWeb
) -> None:
    url = expand(template)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler",
            "daemon",
            "--sources",
            str(_sources(tmp_path, hostile)),
            "--db",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PAIRCHIVE_DATA_DIR": str(tmp_path / "data")},
    )
    assert done.returncode in (1, 2), done.stderr
    assert "Traceback" not in done.stderr
    assert SECRET not in done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()  # an error line, or the daemon's one log line
    assert "database" in line


# -- a portal whose address carries a password, crawled into both databases --------------------------------


@pytest.fixture(scope="module", params=DATABASES)
def crawled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, hostile: HostileWeb
) -> Iterator[dict[str, Any]]:
    """One `pairchive crawl` of the portal whose address has a password, then what `runs` and `runs show`
    print and what the run record holds. On PostgreSQL the database URL carries a password too (the test
    server lets any password in)."""
    folder = tmp_path_factory.mktemp("c02")
    with database(request.param, folder) as db:
        if db.startswith("postgresql"):
            db = make_url(db).set(password=SECRET).render_as_string(hide_password=False)
        (template,) = next(c for c in c02_secrets.CASES if c.name == "portal-address-with-a-password").inputs
        entry = template.replace("{secret}", SECRET).replace("{host}", hostile.base.split("//", 1)[1])
        sources = folder / "sources.toml"
        sources.write_text(
            f'[[source]]\nname = "c02"\nstart_urls = ["{entry}"]\nallowed_domains = ["127.0.0.1"]\n'
            'article_pattern = "/c02/private/a/"\nschedule = "0 2 * * *"\n',
            encoding="utf-8",
        )
        data = ["--data-dir", str(folder / "data")]
        crawl = cli("crawl", "--all", "--sources", str(sources), "--db", db, *data, *LOOPBACK)
        runs = cli("runs", "--db", db)
        _, sessions = open_database(db)
        with sessions() as s:
            records = [(r.id, r.status, r.error or "") for r in s.scalars(sa.select(CrawlRun))]
        close_all()
        shown = [cli("runs", "show", str(run_id), "--db", db) for run_id, _, _ in records]
        shown += [cli("runs", "show", str(run_id), "--json", "--db", db) for run_id, _, _ in records]
        status = cli("db", "status", "--db", db)
        yield {"db": db, "crawl": crawl, "runs": runs, "records": records, "shown": shown, "status": status}


def test_the_crawl_ends_and_says_so_without_the_password(crawled: dict[str, Any]) -> None:
    crawl = crawled["crawl"]
    assert "Traceback" not in crawl.output
    assert crawl.exit_code in (0, 1), crawl.output
    assert SECRET not in crawl.output
    assert "editor:***@" in crawl.output  # the address is named, its password hidden


def test_the_run_record_holds_no_password(crawled: dict[str, Any]) -> None:
    ((_, status, error),) = crawled["records"]
    assert status in ("ok", "failed")
    assert SECRET not in error


def test_runs_runs_show_and_db_status_print_no_password(crawled: dict[str, Any]) -> None:
    for done in [crawled["runs"], crawled["status"], *crawled["shown"]]:
        assert done.exit_code == 0, done.output
        assert SECRET not in done.output
    assert any("editor:***@" in done.stdout for done in crawled["shown"])


@pytest.mark.parametrize(
    "text",
    [
        f"ValueError: invalid hostname: editor:{SECRET}@127.0.0.1",
        f"(editor:{SECRET}@127.0.0.1:8080)",
        f"netloc='editor:{SECRET}@[::1]:80'",
    ],
)
def test_an_error_naming_an_address_without_its_scheme_has_the_password_hidden(text: str) -> None:
    from crawler.redact import scrub

    assert SECRET not in scrub(text) and "editor:***@" in scrub(text)
    assert scrub("at 01:02:03 from x@example.org") == "at 01:02:03 from x@example.org"
