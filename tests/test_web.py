"""The reading room over HTTP: `pairchive serve` in a subprocess on a crawled archive, on SQLite and on
PostgreSQL, read with a plain HTTP client (tests/test_web_browser.py drives the same pages in Chromium)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from crawler.sampleweb import SampleWeb
from tests.conftest import PG_ENV, _pg_schema_url
from tests.crawls import WAIT
from tests.web_archive import PAGED, PAGINATED_WORD, Canary, WebArchive, build
from tests.webserver import get, serve


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    server = Canary()
    yield server
    server.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def archive(
    request: pytest.FixtureRequest,
    sample_web: SampleWeb,
    canary: Canary,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WebArchive]:
    folder = tmp_path_factory.mktemp("web")
    if request.param == "sqlite":
        yield build(sample_web, folder, f"sqlite:///{folder / 'archive.db'}", canary.url)
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(
            f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    for url in _pg_schema_url(base):
        yield build(sample_web, folder, url, canary.url)


@pytest.fixture(scope="module")
def site(archive: WebArchive) -> Iterator[str]:
    with serve(archive.db_url, archive.data_dir) as base:
        yield base


def _found(pattern: str, text: str) -> str:
    match = re.search(pattern, text, re.S)
    assert match, pattern
    return match.group(1)


def _ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'class="hit-title" href="/stories/(\d+)"', page)]


def _api(site: str, path: str) -> tuple[int, dict]:
    reply = get(site + path)
    assert reply.headers["Content-Type"].startswith("application/json")
    return reply.status, json.loads(reply.body)


def test_a_traditional_query_finds_the_simplified_story_and_the_reverse(site: str) -> None:
    simplified = _ids(get(site + "search?q=" + quote("手拉手")).text)
    traditional = _ids(get(site + "search?q=" + quote("手拉手 結對")).text)
    assert simplified and set(traditional) <= set(simplified) and traditional
    # the sample web's traditional-script story is found by its simplified words
    hant = _api(site, "api/search?q=" + quote("续写 山海情"))[1]["hits"]
    assert hant and all(hit["language"] == "zh-Hant" for hit in hant)
    hans = _api(site, "api/search?q=" + quote("續寫 山海情"))[1]["hits"]
    assert [h["id"] for h in hans] == [h["id"] for h in hant]


def test_snippets_mark_the_match_in_the_script_it_was_published_in(site: str) -> None:
    page = get(site + "search?q=" + quote("结对")).text
    marks = re.findall(r"<mark>(.*?)</mark>", page)
    assert marks and set(marks) <= {"结对", "結對"}
    assert "結對" in marks  # the traditional story, marked as published


def test_every_page_forbids_anything_from_another_origin(site: str) -> None:
    for path in [
        "",
        "search?q=" + quote("结对"),
        "stories/1",
        "sources",
        "timeline",
        "api/stories/1",
        "stories/9999",
    ]:
        reply = get(site + path)
        assert reply.headers["Content-Security-Policy"].startswith("default-src 'self'"), path
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
    page = get(site).text
    assert not re.search(r'(src|href)="(https?:)?//', page), "nothing is loaded from another host"
    assert " style=" not in page and "<style" not in page, "no inline style for the policy to refuse"


def test_the_icon_ships_with_the_package(site: str) -> None:
    page = get(site).text
    icon = re.search(r'<link rel="icon" href="(/static/[^"]+)"', page)
    assert icon, "the page names its icon"
    reply = get(site + icon.group(1).lstrip("/"))
    assert reply.status == 200 and reply.body.startswith(b"<svg")
    assert get(site + "favicon.ico").body == reply.body  # followed from the path browsers ask for


def test_a_story_page_shows_its_provenance_sightings_and_citation(site: str, archive: WebArchive) -> None:
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler",
            "show",
            "1",
            "--json",
            "--db",
            archive.db_url,
            "--data-dir",
            archive.data_dir,
        ],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=True,
    )
    record = json.loads(shown.stdout)
    page = get(site + "stories/1").text
    fields = dict(re.findall(r'<dd data-field="(\w+)">(?:<code>)?(.*?)(?:</code>)?</dd>', page))
    capture = record["capture"]
    assert fields["fetched_url"] == record["fetched_url"]
    assert f'<time datetime="{record["fetched_at"]}">' in page
    assert fields["http_status"] == str(record["http_status"])
    assert fields["content_hash"] == record["content_hash"]
    assert fields["warc_file"] == capture["warc_file"]
    assert fields["warc_offset"] == str(capture["offset"])
    assert fields["record_id"] == capture["record_id"].replace("<", "&lt;").replace(">", "&gt;")
    assert fields["payload_digest"] == capture["payload_digest"]
    assert page.count('<tr class="sighting">') == len(record["sightings"]) >= 1
    copies = sum(seen["copy"] for seen in record["sightings"])
    assert page.count("(完全相同的转载)") == copies  # a dict's own methods (.copy) are not its keys
    assert f"{site}stories/1" in _found(r'<p id="citation" class="citation">(.*?)</p>', page)
    assert f'<a id="stable-link" href="{site}stories/1">{site}stories/1</a>' in page
    paragraphs = re.findall(r"<p>(.*?)</p>", page.split('<div id="text"', 1)[1].split("</div>", 1)[0])
    assert len(paragraphs) == len([line for line in record["text"].split("\n") if line.strip()])


def test_the_raw_capture_is_the_exact_bytes_as_a_sandboxed_download(site: str, archive: WebArchive) -> None:
    raw = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler",
            "show",
            "1",
            "--raw",
            "--db",
            archive.db_url,
            "--data-dir",
            archive.data_dir,
        ],
        capture_output=True,
        timeout=WAIT,
        check=True,
    ).stdout
    reply = get(site + "stories/1/raw")
    assert reply.status == 200 and reply.body == raw and raw
    assert reply.headers["Content-Disposition"].startswith("attachment")
    assert reply.headers["Content-Security-Policy"].startswith("sandbox")
    assert reply.headers["Content-Type"] == "application/octet-stream"


def test_a_story_without_a_capture_says_so_and_its_raw_link_is_a_404(site: str, archive: WebArchive) -> None:
    page = get(site + f"stories/{archive.revised_id}").text
    assert 'id="no-capture"' in page and 'id="raw-link"' not in page
    reply = get(site + f"stories/{archive.revised_id}/raw")
    assert reply.status == 404 and "no raw capture" in reply.text


def test_stored_markup_is_shown_as_text_and_never_as_markup(
    site: str, archive: WebArchive, canary: Canary
) -> None:
    for path in [
        f"stories/{archive.hostile_id}",
        "search?q=hostile",
        "search?q=" + quote("结对") + "&per_page=100",
    ]:
        page = get(site + path).text
        assert "<script>alert" not in page and "<img src=x" not in page and "<script>fetch" not in page, path
        assert "&lt;script&gt;" in page, path
        assert not re.search(r'href="javascript:', page, re.I), path
        assert "<b>portal</b>" not in page
    story = get(site + f"stories/{archive.hostile_id}").text
    assert re.search(r'<span class="source-url">javascript:fetch', story)  # the stored URL is shown, as text
    assert 'href="#"' not in story  # and not made a link to nowhere
    assert canary.requests == []  # nothing the server sent asked for it (the browser test runs the page)


def test_a_revised_story_shows_each_revision_with_its_paragraph_diff(site: str, archive: WebArchive) -> None:
    page = get(site + f"stories/{archive.revised_id}").text
    assert "<ins>第二段改过了。</ins>" in page and "<del>第二段原文。</del>" in page
    status, story = _api(site, f"api/stories/{archive.revised_id}")
    assert status == 200
    assert [r["revision"] for r in story["revisions"]] == [2, 1]
    kinds = {(c["kind"], c["text"]) for c in story["revisions"][0]["changes"]}
    assert {("removed", "第二段原文。"), ("added", "第二段改过了。")} <= kinds


def test_pages_of_a_search_hold_every_match_once(site: str) -> None:
    query = "search?q=" + quote(PAGINATED_WORD)
    first = get(site + query).text
    assert re.search(rf'<p id="count">{PAGED} ', first)
    seen = _ids(first)
    page = first
    while 'id="next-page"' in page:
        href = _found(r'id="next-page" rel="next" href="/([^"]+)"', page).replace("&amp;", "&")
        page = get(site + href).text
        seen += _ids(page)
    assert len(seen) == len(set(seen)) == PAGED
    assert 'id="prev-page"' in page


def test_the_api_search_has_stable_keys_and_a_next_link(site: str) -> None:
    status, body = _api(site, "api/search?per_page=10&sort=date&q=" + quote(PAGINATED_WORD))
    assert status == 200
    assert set(body) == {"query", "count", "count_capped", "hits", "next"}
    assert body["count"] == PAGED and body["count_capped"] is False
    assert set(body["hits"][0]) == {
        "id",
        "title",
        "source",
        "published",
        "language",
        "relevance",
        "url",
        "snippet",
    }
    dates = [hit["published"] for hit in body["hits"]]
    assert dates == sorted(dates, reverse=True)
    status, more = _api(site, body["next"].lstrip("/"))
    assert not {h["id"] for h in more["hits"]} & {h["id"] for h in body["hits"]}


def test_filters_narrow_a_search(site: str) -> None:
    everything = _api(site, "api/search?all=1&per_page=100&q=" + quote("结对"))[1]["hits"]
    pairing = _api(site, "api/search?per_page=100&q=" + quote("结对"))[1]["hits"]
    assert len(pairing) <= len(everything)
    one = _api(site, "api/search?all=1&per_page=100&source=written&q=" + quote("结对"))[1]["hits"]
    assert one and {h["source"] for h in one} == {"written"}
    days = _api(site, "api/search?per_page=100&since=2023-01-03&until=2023-01-03&q=" + quote("结对"))[1][
        "hits"
    ]
    assert [h["published"][:10] for h in days] == ["2023-01-03"]
    hant = _api(site, "api/search?all=1&lang=zh-Hant&q=" + quote("结对"))[1]["hits"]
    assert hant and {h["language"] for h in hant} == {"zh-Hant"}


def test_exports_of_a_search_hold_its_stories_with_provenance(site: str) -> None:
    reply = get(site + "export.jsonl?q=" + quote(PAGINATED_WORD))
    assert reply.status == 200 and "attachment" in reply.headers["Content-Disposition"]
    records = [json.loads(line) for line in reply.text.splitlines()]
    assert len(records) == PAGED and all("content_hash" in r and "sightings" in r for r in records)
    rows = list(csv.DictReader(io.StringIO(get(site + "export.csv?q=" + quote(PAGINATED_WORD)).text)))
    assert len(rows) == PAGED and {r["id"] for r in rows} == {str(r["id"]) for r in records}
    everything = get(site + "export.jsonl").text.splitlines()
    assert len(everything) > PAGED


def test_a_csv_export_defuses_formula_cells(site: str, archive: WebArchive) -> None:
    rows = list(csv.DictReader(io.StringIO(get(site + "export.csv?all=1&q=hostile").text)))
    assert rows and rows[0]["url"].startswith("javascript:")  # not a formula start: kept
    assert all(not r["title"].startswith(("=", "+", "-", "@")) for r in rows)


def test_the_timeline_draws_one_bar_a_month_and_adds_up(site: str) -> None:
    status, body = _api(site, "api/timeline")
    assert status == 200 and body["months"]
    page = get(site + "timeline").text
    bars = re.findall(r'<rect class="bar"[^>]*data-month="([\d-]+)" data-stories="(\d+)"', page)
    dated = [(m["month"], str(m["stories"])) for m in body["months"] if m["month"]]
    assert bars == dated
    years = re.findall(r'<text class="year"[^>]*>(\d{4})</text>', page)
    assert years == sorted({month[:4] for month, _ in dated}), "every year is named, January or not"
    searched = _api(site, "api/timeline?q=" + quote(PAGINATED_WORD))[1]["months"]
    assert sum(m["stories"] for m in searched) == PAGED


def test_the_front_page_lists_the_newest_stories_of_the_archive_or_of_one_source(site: str) -> None:
    front = _ids(get(site).text)
    assert len(front) == 20
    written = _ids(get(site + "?source=written").text)
    assert written and written[0] == max(written)
    others = _ids(get(site + "?source=huli-edu").text)
    assert others and not set(others) & set(written)


def test_the_sources_page_lists_every_source_with_its_last_run(site: str) -> None:
    page = get(site + "sources").text
    _, sources = _api(site, "api/sources")
    assert page.count('<tr class="source') == len(sources) >= 5
    crawled = [s for s in sources if s["name"] != "written"]
    assert all(s["last_run"]["status"] == "ok" and s["failures_in_a_row"] == 0 for s in crawled)
    assert sum(s["stories"] for s in sources) >= PAGED


def test_the_interface_switches_language_and_the_stored_text_stays(site: str) -> None:
    zh = get(site + "stories/2").text
    en = get(site + "stories/2?ui=en")
    assert '<html lang="zh-Hans">' in zh and "来源信息" in zh
    assert '<html lang="en">' in en.text and "Provenance" in en.text
    assert "ui=en" in en.headers["Set-Cookie"]
    title = _found(r'<h1 id="title"[^>]*>(.*?)</h1>', zh)
    assert title in en.text


@pytest.mark.parametrize(
    ("path", "status", "line"),
    [
        ("stories/99999", 404, "no stored story with id 99999"),
        ("stories/abc", 400, "not a story id"),
        ("stories/0", 400, "not a story id"),
        ("stories/99999999999999999999", 400, "not a story id"),
        ("stories/99999/raw", 404, "no stored story"),
        ("search?q=x&page=0", 400, "page="),
        ("search?q=x&page=1000000", 400, "page="),
        ("search?q=x&since=2022-13-01", 400, "no such day"),
        ("search?q=x&since=1800-01-01", 400, "1900 to 2200"),
        ("search?q=x&sort=best", 400, "sort="),
        ("search?q=x&source=..%2Fetc", 400, "source="),
        ("search?q=x&all=maybe", 400, "all="),
        ("search?q=" + quote('"'), 400, "no word to search for"),
        ("search?q=" + quote("(" * 20 + "a"), 400, ""),
        ("search?q=" + "a" * 1001, 400, "at most 1000"),
        ("nowhere", 404, ""),
    ],
)
def test_a_bad_id_or_parameter_is_a_page_with_one_line_never_a_traceback(
    site: str, path: str, status: int, line: str
) -> None:
    reply = get(site + path)
    assert reply.status == status
    assert "Traceback" not in reply.text and 'class="error"' in reply.text
    assert line in reply.text
    api = get(site + "api/" + path) if not path.startswith("nowhere") else None
    if api is not None and not path.startswith("search?q=x&"):
        assert api.status in (status, 404)


def test_an_api_error_is_json(site: str) -> None:
    status, body = _api(site, "api/stories/abc")
    assert status == 400 and body["status"] == 400 and "not a story id" in body["error"]
    status, body = _api(site, "api/search?q=")
    assert status == 400 and "a query is needed" in body["error"]
    status, body = _api(site, "api/search?q=" + quote('"'))
    assert status == 400 and "no word to search for" in body["error"]


def test_serve_on_a_missing_archive_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "serve", "--db", str(tmp_path / "none.db"), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert "pairchive db upgrade" in result.stderr or "no archive" in result.stderr


def test_serve_on_a_port_in_use_is_one_line(archive: WebArchive, site: str) -> None:
    port = site.rsplit(":", 1)[1].strip("/")
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "serve", "--db", archive.db_url, "--port", port],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error: cannot listen on 127.0.0.1:{port}: the port is in use"


def test_a_database_that_goes_bad_under_the_server_is_a_503_of_one_line(
    archive: WebArchive, tmp_path: Path
) -> None:
    if not archive.db_url.startswith("sqlite"):
        pytest.skip("a SQLite file is what goes bad here; the PostgreSQL archive is served the same way")
    copy = tmp_path / "copy.db"
    shutil.copyfile(archive.db_url.removeprefix("sqlite:///"), copy)
    with serve(f"sqlite:///{copy}") as base:
        size = copy.stat().st_size
        with open(copy, "r+b") as db:  # the same file, every page overwritten
            db.write(b"not a database" * (size // 14 + 1))
        for path in [f"stories/{archive.revised_id}", f"api/stories/{archive.hostile_id}", "sources"]:
            reply = get(base + path)
            assert reply.status == 503, path
            assert "the database cannot be read: " in reply.text and "Traceback" not in reply.text


def _relation_of_huli_and_minning(site: str) -> dict:
    status, body = _api(site, "api/places/350206")
    assert status == 200 and body["place"]["division"]["name"] == "湖里区"
    assert [d["name"] for d in body["place"]["chain"]] == ["福建省", "厦门市", "湖里区"]
    found = [
        r
        for r in body["relations"]
        if {r["a"]["code"], r["b"]["code"]} == {"350206", "622900"}
        and "闽宁镇" in {r["a"]["town"], r["b"]["town"]}
    ]
    assert found, body["relations"]
    return found[0]


def test_a_story_shows_who_pairs_with_whom_with_its_sentence_and_links_to_the_places(site: str) -> None:
    relation = _relation_of_huli_and_minning(site)
    assert relation["a"]["count"] == relation["b"]["count"] == 16
    story = relation["articles"][0]
    page = get(site + f"stories/{story}").text
    facts = page.split('<section id="facts">', 1)[1].split("</section>", 1)[0]
    assert f'data-relation="{relation["id"]}"' in facts
    assert '<a href="/places/350206">' in facts and "evidence-sentence" in facts
    api = _api(site, f"api/stories/{story}")[1]
    assert relation["id"] in [f["relation"] for f in api["facts"]]


def test_a_place_page_lists_its_relations_both_ways_and_an_unknown_code_is_a_404(site: str) -> None:
    relation = _relation_of_huli_and_minning(site)
    for key in ("350206", "622900", "620000", quote("闽宁镇")):  # either side; a province holds its places
        page = get(site + f"places/{key}").text
        assert f'data-relation="{relation["id"]}"' in page, key
    assert get(site + "places/999999").status == 404
    assert get(site + "places/110000").text.count('class="relation"') == 0
    assert get(site + "places/" + "x" * 101).status == 400
