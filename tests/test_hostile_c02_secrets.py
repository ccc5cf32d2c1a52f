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
from storage.db import close_all, open_for_writing
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


# -- a portal whose address carries a password, on both databases ------------------------------------------


@pytest.fixture(scope="module", params=DATABASES)
def refused(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, hostile: HostileWeb
) -> Iterator[dict[str, Any]]:
    """`pairchive crawl`, `sources list` and `sources check` of a sources file whose entry point is the
    portal address with a password, then what the database holds. On PostgreSQL the database URL carries a
    password too (the test server lets any password in)."""
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
        hostile.forget()
        said = [
            cli("crawl", "--all", "--sources", str(sources), "--db", db, *data, *LOOPBACK),
            cli("sources", "list", "--sources", str(sources), "--db", db),
            cli("sources", "check", "c02", "--sources", str(sources)),
        ]
        asked = [p for p in hostile.asked if p.startswith("/c02/private/")]
        sessions = open_for_writing(db).sessions
        with sessions() as s:
            records = list(s.scalars(sa.select(CrawlRun)))
        close_all()
        yield {"said": said, "asked": asked, "records": records}


def test_a_portal_address_with_a_password_is_refused_in_one_line_without_it(refused: dict[str, Any]) -> None:
    for done in refused["said"]:
        assert done.exit_code == 2, done.output
        assert "Traceback" not in done.output and SECRET not in done.output
        (line,) = done.output.strip().splitlines()
        assert "key 'start_urls'" in line and "user name or password" in line and "editor:***@" in line


def test_a_portal_address_with_a_password_is_never_asked_for_and_makes_no_run(
    refused: dict[str, Any],
) -> None:
    assert refused["asked"] == []
    assert refused["records"] == []


@pytest.mark.parametrize(
    "text",
    [
        f"ValueError: invalid hostname: editor:{SECRET}@127.0.0.1",
        f"(editor:{SECRET}@127.0.0.1:8080)",
        f"netloc='editor:{SECRET}@[::1]:80'",
    ],
)
def test_an_error_naming_an_address_without_its_scheme_has_the_password_hidden(text: str) -> None:
    from storage.redact import scrub

    assert SECRET not in scrub(text) and "editor:***@" in scrub(text)
    assert scrub("at 01:02:03 from x@example.org") == "at 01:02:03 from x@example.org"
