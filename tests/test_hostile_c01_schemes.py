"""Class 1, schemes and addresses, on both databases: the portal of tests.hostile.c01_schemes leads the
crawler to other schemes on its own host from its links, redirects, feed and sitemap; only http is
fetched and every other scheme is a recorded rejection `scheme`, counted in the run. With the guard on,
the loopback portal is refused as `private_address` before anything is asked of it. A capture of another
scheme already in the archive is one line in `warc verify` and `show --raw`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from crawler.cli import main
from storage.db import close_all, open_for_writing
from storage.models import Article, Capture, Rejection
from storage.warc import WarcFile
from tests.hostile import HostileWeb, c01_schemes
from tests.hostile.archives import DATABASES, crawl_once, database, hostile_source

ARTICLE_PATTERN = "(/c01/a/|passwd|/dev/|c01)"


def _crawl(db: str, data_dir: Path, hostile: HostileWeb, **settings: Any) -> dict[str, Any]:
    """One crawl of the class's portal into `db`: its run, rejections, articles and the paths it asked."""
    source = hostile_source(
        "c01",
        [hostile.url(1, "guarded.html" if settings else "list.html")],
        ARTICLE_PATTERN,
        feeds=f'["{hostile.url(1, "feed.xml")}"]',
        sitemaps=f'["{hostile.url(1, "sitemap.xml")}"]',
    )
    before = len(hostile.asked)
    run = crawl_once(db, data_dir, source, **settings)
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        rejections = {
            r.url: (r.reason, r.detail)
            for r in s.scalars(sa.select(Rejection).where(Rejection.run_id == run.run_id))
        }
        articles = {
            a.fetched_url: a.id for a in s.scalars(sa.select(Article).where(Article.run_id == run.run_id))
        }
    close_all()
    asked = [p for p in hostile.asked[before:] if p.startswith("/c01/")]
    return {"run": run, "rejections": rejections, "articles": articles, "asked": asked}


@pytest.fixture(scope="module", params=DATABASES)
def archive(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, hostile: HostileWeb
) -> Iterator[dict[str, Any]]:
    """The portal crawled once with the guard at its default and once with it on, per database."""
    folder = tmp_path_factory.mktemp("c01")
    with database(request.param, folder) as db:
        default = _crawl(db, folder / "data", hostile)
        guarded = _crawl(db, folder / "data", hostile, PAIRCHIVE_BLOCK_PRIVATE_ADDRESSES="true")
        yield {"db": db, "data_dir": folder / "data", "default": default, "guarded": guarded}


def test_links_of_other_schemes_on_the_portals_host_are_never_fetched_and_recorded_as_scheme(
    archive: dict[str, Any],
) -> None:
    rejections = archive["default"]["rejections"]
    for url in c01_schemes.OTHER_SCHEMES:
        assert url in rejections, url
        reason, detail = rejections[url]
        assert reason == "scheme" and "only http and https" in detail


def test_links_of_other_schemes_without_a_host_are_offsite_and_never_fetched(archive: dict[str, Any]) -> None:
    crawl = archive["default"]
    assert crawl["run"].status == "ok"  # a read of /dev/zero would never have ended
    for url in c01_schemes.HOSTLESS:
        assert url not in crawl["rejections"] and url not in crawl["articles"]
    assert all(url.startswith("http://") for url in crawl["articles"])


def test_redirects_to_other_schemes_are_refused_as_scheme_naming_the_target(
    archive: dict[str, Any], hostile: HostileWeb
) -> None:
    for path, target in c01_schemes.REDIRECTS.items():
        reason, detail = archive["default"]["rejections"][hostile.url(1, path)]
        assert reason == "scheme" and target in detail


def test_feed_and_sitemap_entries_of_other_schemes_are_refused_as_scheme(archive: dict[str, Any]) -> None:
    rejections = archive["default"]["rejections"]
    assert rejections[c01_schemes.FEED_ENTRY][0] == "scheme"
    assert rejections[c01_schemes.SITEMAP_ENTRY][0] == "scheme"


def test_only_http_pages_are_asked_for_and_they_are_stored(
    archive: dict[str, Any], hostile: HostileWeb
) -> None:
    crawl = archive["default"]
    assert crawl["run"].status == "ok", crawl["run"].error
    served = {"/c01/list.html", "/c01/feed.xml", "/c01/sitemap.xml"}
    served |= {f"/c01/{p}" for p in (*c01_schemes.ARTICLES, *c01_schemes.REDIRECTS)}
    assert set(crawl["asked"]) <= served
    assert set(crawl["articles"]) == {hostile.url(1, p) for p in c01_schemes.ARTICLES}


def test_every_refusal_is_counted_in_the_run(archive: dict[str, Any]) -> None:
    crawl = archive["default"]
    expected = len(c01_schemes.OTHER_SCHEMES) + len(c01_schemes.REDIRECTS) + 2  # the feed's, the sitemap's
    assert crawl["run"].counts["scheme"] == expected
    assert sum(1 for reason, _ in crawl["rejections"].values() if reason == "scheme") == expected
    assert "private_address" not in crawl["run"].counts  # auto: a loopback portal is not guarded


def test_with_the_guard_on_the_loopback_portal_is_refused_before_anything_is_asked(
    archive: dict[str, Any], hostile: HostileWeb
) -> None:
    crawl = archive["guarded"]
    assert crawl["asked"] == []
    reason, detail = crawl["rejections"][hostile.url(1, "guarded.html")]
    assert reason == "private_address" and "127.0.0.1" in detail
    assert crawl["run"].counts["private_address"] == 3  # the listing, the feed, the sitemap
    assert crawl["articles"] == {}


@pytest.fixture(scope="module")
def file_capture(archive: dict[str, Any]) -> dict[str, Any]:
    """The first stored article's capture replaced by one of a local file, as an older crawl (before
    only http was fetched) could have written it."""
    warc = WarcFile(archive["data_dir"] / "warc", "c01/pairchive-old-run0.warc.gz", {"software": "old"})
    pointer = warc.write(
        url="file:///etc/passwd",
        fetched_at=datetime.now(UTC),
        method="GET",
        request_headers=[],
        request_body=b"",
        protocol="",
        status=200,
        response_headers=[],
        body=b"root:x:0:0:root:/root:/bin/sh\n",
    )
    warc.close()
    article_id = min(archive["default"]["articles"].values())
    sessions = open_for_writing(archive["db"]).sessions
    with sessions.begin() as s:
        capture = Capture(
            run_id=None,
            url="file:///etc/passwd",
            http_status=200,
            warc_file=pointer.warc_file,
            offset=pointer.offset,
            length=pointer.length,
            request_offset=pointer.request_offset,
            request_length=pointer.request_length,
            record_id=pointer.record_id,
            payload_digest=pointer.payload_digest,
        )
        s.add(capture)
        s.flush()
        capture_id = capture.id
        s.get_one(Article, article_id).capture_id = capture_id
        captures = s.scalar(sa.select(sa.func.count()).select_from(Capture))
    close_all()
    return {"capture_id": capture_id, "article_id": article_id, "captures": captures}


def _cli(archive: dict[str, Any], *args: str) -> Any:
    result = CliRunner().invoke(main, [*args, "--db", archive["db"], "--data-dir", str(archive["data_dir"])])
    close_all()
    return result


def test_warc_verify_reports_a_capture_of_another_scheme_in_one_line_and_checks_the_rest(
    archive: dict[str, Any], file_capture: dict[str, Any]
) -> None:
    result = _cli(archive, "warc", "verify")
    assert result.exit_code == 1 and "Traceback" not in result.output
    bad = [line for line in result.stdout.splitlines() if line.startswith("capture ")]
    assert len(bad) == 1
    assert bad[0].startswith(f"capture {file_capture['capture_id']} (file:///etc/passwd): ")
    assert bad[0].endswith("is of file:///etc/passwd, not an HTTP response")
    assert result.stdout.splitlines()[-1].startswith(f"checked {file_capture['captures']} capture(s)")


def test_show_raw_of_a_capture_of_another_scheme_is_one_line(
    archive: dict[str, Any], file_capture: dict[str, Any]
) -> None:
    result = _cli(archive, "show", str(file_capture["article_id"]), "--raw")
    assert result.exit_code == 1 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: ") and "is of file:///etc/passwd, not an HTTP response" in line


def _sources_check(
    tmp_path: Path, hostile: HostileWeb, article_pattern: str, listing: str = "list.html"
) -> Any:
    """`pairchive sources check c01` of one of the class's listings, with this article pattern."""
    sources = tmp_path / "sources.toml"
    sources.write_text(
        f'[[source]]\nname = "c01"\nstart_urls = ["{hostile.url(1, listing)}"]\n'
        f'allowed_domains = ["127.0.0.1"]\narticle_pattern = \'{article_pattern}\'\nschedule = "0 2 * * *"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["sources", "check", "c01", "--sources", str(sources)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


def test_sources_check_refuses_a_file_link_matching_the_article_pattern_and_never_reads_the_file(
    tmp_path: Path, hostile: HostileWeb
) -> None:
    result = _sources_check(tmp_path, hostile, "passwd")
    assert result.exit_code == 1
    assert "    article: file://127.0.0.1/etc/passwd" in result.output  # what the pattern matched, shown
    last = result.output.strip().splitlines()[-1]
    assert last == (
        "article: refused, scheme: file://127.0.0.1/etc/passwd: file scheme: only http and https are fetched"
    )
    assert "root:" not in result.output


@pytest.mark.parametrize("path", list(c01_schemes.REDIRECTS))
def test_sources_check_refuses_a_redirect_to_another_scheme_naming_the_target(
    tmp_path: Path, hostile: HostileWeb, path: str
) -> None:
    target = c01_schemes.REDIRECTS[path]
    before = len(hostile.asked)
    result = _sources_check(tmp_path, hostile, path.removeprefix("a/"))
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(f"article: refused, scheme: redirect to {target}: ")
    assert last.endswith("only http and https are fetched")
    assert "root:" not in result.output and "c01-1" not in result.output
    asked = [p for p in hostile.asked[before:] if p.startswith("/c01/a/")]
    assert asked == [f"/c01/{path}"]


def test_sources_check_does_not_follow_a_redirect_off_the_allowed_domains(
    tmp_path: Path, hostile: HostileWeb
) -> None:
    before = len(hostile.asked)
    result = _sources_check(tmp_path, hostile, "to-localhost", "offsite-list.html")
    assert result.exit_code == 1
    port = hostile.url(1).split(":")[2].split("/")[0]
    target = f"http://localhost:{port}{c01_schemes.OFFSITE_TARGET}"
    last = result.output.strip().splitlines()[-1]
    assert last == f"article: refused, offsite: redirect to {target}: not on the source's allowed domains"
    asked = [p for p in hostile.asked[before:] if p.startswith("/c01/a/")]
    assert asked == [f"/c01/{c01_schemes.OFFSITE}"]


def test_sources_check_reads_the_project_setting_and_does_not_guard_a_loopback_source_at_auto(
    hostile: HostileWeb,
) -> None:
    from crawler.runner.check import check_source, project_policy

    source = hostile_source("c01", [hostile.url(1, "guarded.html")], "/c01/a/1")
    assert project_policy(source).mode == "auto" and not project_policy(source).guard
    report = check_source(source, "pairchive-test")
    assert report.entry_points[0].error is None and report.article is not None


def test_sources_check_with_the_guard_on_refuses_the_loopback_portal_before_asking_anything(
    hostile: HostileWeb,
) -> None:
    from crawler.runner.check import check_source

    source = hostile_source(
        "c01",
        [hostile.url(1, "guarded.html")],
        ARTICLE_PATTERN,
        feeds=f'["{hostile.url(1, "feed.xml")}"]',
    )
    before = len(hostile.asked)
    report = check_source(source, "pairchive-test", block_private="true")
    assert hostile.asked[before:] == []
    for entry_point in report.entry_points:
        assert entry_point.error is not None
        assert entry_point.error.startswith(
            f"refused, private_address: {entry_point.url}: 127.0.0.1 resolves"
        )
        assert entry_point.error.endswith("not a public address")
    assert report.article is None and report.article_error == "no link matched article_pattern"


def test_sources_check_with_the_guard_on_refuses_a_connection_to_a_private_answer_the_check_did_not_see(
    hostile: HostileWeb, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the policy's lookup says public (192.0.2.1 stands for a public answer here), the
    connection reaches 127.0.0.1; it is refused before a byte of the request is sent."""
    import crawler.runner.check

    monkeypatch.setattr(crawler.runner.check, "is_public", lambda address: address != "127.0.0.1")
    monkeypatch.setattr(crawler.runner.check, "resolve", lambda host: ("192.0.2.1",))
    monkeypatch.setattr(crawler.runner.check, "address_refusal", lambda host, addresses: None)
    source = hostile_source("c01", [hostile.url(1, "guarded.html")], ARTICLE_PATTERN)
    before = len(hostile.asked)
    report = crawler.runner.check.check_source(source, "pairchive-test", block_private="true")
    assert hostile.asked[before:] == []
    (entry_point,) = report.entry_points
    assert (
        entry_point.error == "refused, private_address: 127.0.0.1 connects to 127.0.0.1, not a public address"
    )
