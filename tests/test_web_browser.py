"""The reading room in a real browser: headless Chromium driven by Selenium over `pairchive serve` on a
crawled archive (tests/web_archive.py), on SQLite, with a smoke test on PostgreSQL. What a plain HTTP
client cannot see is checked here: what the page does when it runs, what it shows, what it downloads."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from selenium.common.exceptions import (
    NoAlertPresentException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from crawler.sampleweb import SampleWeb
from tests.browser import PAGE_WAIT, WINDOW, downloads_of
from tests.conftest import PG_ENV, _pg_schema_url
from tests.crawls import WAIT
from tests.web_archive import HOSTILE_TITLE, PAGED, PAGINATED_WORD, Canary, WebArchive, build
from tests.webserver import get, serve


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    server = Canary()
    yield server
    server.close()


@pytest.fixture(scope="module")
def archive(sample_web: SampleWeb, canary: Canary, tmp_path_factory: pytest.TempPathFactory) -> WebArchive:
    folder = tmp_path_factory.mktemp("web-browser")
    return build(sample_web, folder, f"sqlite:///{folder / 'archive.db'}", canary.url)


@pytest.fixture(scope="module")
def site(archive: WebArchive) -> Iterator[str]:
    with serve(archive.db_url, archive.data_dir) as base:
        yield base


def _wait(driver: Any) -> WebDriverWait:
    return WebDriverWait(driver, PAGE_WAIT)


def _open(driver: Any, url: str) -> None:
    """Load `url` and wait until it has loaded, images and all."""
    driver.get(url)
    _wait(driver).until(lambda d: d.execute_script("return document.readyState") == "complete")


def _follow(driver: Any, link: WebElement) -> None:
    """Click a link and wait for the next page to replace this one."""
    link.click()
    _wait(driver).until(lambda _d: _detached(link))
    _wait(driver).until(lambda d: d.execute_script("return document.readyState") == "complete")


def _detached(element: WebElement) -> bool:
    """Whether the page holding `element` has been replaced. Chromium says so in one of two ways: a stale
    element, or, caught mid-navigation, an inspector error that the node is no longer in the document."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if "does not belong to the document" in (exc.msg or ""):
            return True
        raise
    return False


def _search(driver: Any, site: str, words: str) -> list[WebElement]:
    """Type `words` into the search box of the front page, submit, and return the hits shown."""
    _open(driver, site)
    box = driver.find_element(By.ID, "q")
    box.clear()
    box.send_keys(words)
    button = driver.find_element(By.CSS_SELECTOR, "#search-form button[type=submit]")
    _follow(driver, button)
    _wait(driver).until(EC.presence_of_element_located((By.ID, "count")))
    hits: list[WebElement] = driver.find_elements(By.CSS_SELECTOR, "#hits li.hit")
    return hits


def _hit_ids(hits: list[WebElement]) -> list[int]:
    links = [hit.find_element(By.CSS_SELECTOR, "a.hit-title").get_attribute("href") or "" for hit in hits]
    return [int(link.rsplit("/", 1)[1]) for link in links]


def _shoot(driver: Any, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    assert driver.save_screenshot(str(path)), path
    print(f"screenshot: {path}")
    return path


def _csp_violations(driver: Any) -> list[str]:
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Content-Security-Policy" in entry["message"]
    ]


def _no_alert(driver: Any) -> None:
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 (reading it is what raises)


def test_a_traditional_search_finds_the_simplified_story_and_the_reverse(
    browser: Any, site: str, screenshots: Path
) -> None:
    simplified_query = _search(browser, site, "续写 山海情")
    found_hant = _hit_ids(simplified_query)
    assert found_hant
    assert {hit.get_attribute("lang") for hit in simplified_query} == {"zh-Hant"}
    assert _hit_ids(_search(browser, site, "續寫 山海情")) == found_hant
    traditional_query = _search(browser, site, "結對 手拉手")
    assert "zh-Hans" in {hit.get_attribute("lang") for hit in traditional_query}
    shown = set(_hit_ids(traditional_query))
    assert shown and shown <= set(_hit_ids(_search(browser, site, "结对 手拉手")))
    marks = {m.text for m in browser.find_elements(By.CSS_SELECTOR, "#hits mark")}
    assert marks and marks <= {"结对", "結對", "手拉手"}
    _search(browser, site, "结对")
    _shoot(browser, screenshots, "search")


def test_a_story_page_shows_its_sightings_and_provenance(
    browser: Any, site: str, archive: WebArchive, screenshots: Path
) -> None:
    hits = _search(browser, site, "手拉手")
    crawled = [h for h in hits if "written" not in h.find_element(By.CSS_SELECTOR, ".meta").text]
    first = crawled[0].find_element(By.CSS_SELECTOR, "a.hit-title")
    title = first.text
    _follow(browser, first)
    assert browser.find_element(By.ID, "title").text == title
    story = json.loads(get(browser.current_url.replace("/stories/", "/api/stories/")).body)
    sightings = browser.find_elements(By.CSS_SELECTOR, "#sightings tr.sighting")
    assert len(sightings) == len(story["sightings"]) >= 1
    assert {row.find_element(By.CSS_SELECTOR, "td.url").text for row in sightings} == {
        s["url"] for s in story["sightings"]
    }
    shown = {
        dd.get_attribute("data-field"): dd.text
        for dd in browser.find_elements(By.CSS_SELECTOR, "#provenance dd[data-field]")
    }
    assert shown["url"] == story["url"] and shown["content_hash"] == story["content_hash"]
    assert shown["http_status"] == str(story["http_status"])
    if story["capture"]:
        assert shown["warc_file"] == story["capture"]["warc_file"]
        assert shown["payload_digest"] == story["capture"]["payload_digest"]
    assert browser.find_element(By.ID, "citation").text.strip()
    _shoot(browser, screenshots, "story")


def test_the_raw_capture_link_gives_the_exact_stored_bytes(
    browser: Any, site: str, archive: WebArchive
) -> None:
    show = [sys.executable, "-m", "crawler", "show", "1", "--raw"]
    stored = subprocess.run(
        [*show, "--db", archive.db_url, "--data-dir", archive.data_dir],
        capture_output=True,
        timeout=WAIT,
        check=True,
    ).stdout
    assert stored
    _open(browser, site + "stories/1")
    link = browser.find_element(By.ID, "raw-link")
    href = link.get_attribute("href") or ""
    reply = get(href)
    assert reply.status == 200 and reply.body == stored
    # and the browser, following the link, saves those bytes as a file (never shows them on our origin)
    downloaded = _download(browser, link, "pairchive-1.html")
    assert downloaded == stored
    assert browser.current_url == site + "stories/1"


def _download(driver: Any, link: WebElement, name: str) -> bytes:
    folder = downloads_of(driver)
    for old in folder.iterdir():
        old.unlink()
    link.click()
    target = folder / name

    def finished(_: Any) -> bool:
        partial = [p for p in folder.iterdir() if p.suffix == ".crdownload"]
        return target.exists() and not partial

    _wait(driver).until(finished)
    return target.read_bytes()


def test_the_interface_language_switches_and_sticks_across_pages(browser: Any, site: str) -> None:
    _open(browser, site)
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-Hans"
    _follow(browser, browser.find_element(By.ID, "ui-switch"))
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert browser.get_cookie("ui")["value"] == "en"
    _follow(browser, browser.find_element(By.CSS_SELECTOR, "#nav a[href='/sources']"))
    assert browser.current_url == site + "sources"
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    _open(browser, site + "stories/1")
    assert browser.find_element(By.CSS_SELECTOR, "#provenance h2").text == "Provenance"
    _follow(browser, browser.find_element(By.ID, "ui-switch"))
    assert browser.find_element(By.CSS_SELECTOR, "#provenance h2").text == "来源信息"
    _open(browser, site + "timeline")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-Hans"
    assert browser.get_cookie("ui")["value"] == "zh"


def test_stored_script_stays_inert_and_shows_as_text(
    browser: Any, site: str, archive: WebArchive, canary: Canary, screenshots: Path
) -> None:
    browser.get_log("browser")  # what earlier tests left
    _open(browser, site + f"stories/{archive.hostile_id}?ui=en")
    _no_alert(browser)
    assert browser.find_element(By.ID, "title").text == HOSTILE_TITLE
    text = browser.find_element(By.ID, "text").text
    assert f'<script>fetch("{archive.canary_url}script")</script>' in text
    assert browser.find_elements(By.CSS_SELECTOR, "#text script, #text img, #title img, #author a") == []
    assert archive.canary_url in browser.find_element(By.ID, "author").text
    shown_url = browser.find_element(By.CSS_SELECTOR, ".source-url")
    assert shown_url.text.startswith("javascript:")
    assert shown_url.tag_name == "span"  # the stored javascript: URL is shown, not offered as a link
    shown_url.click()
    _no_alert(browser)
    hits = _search(browser, site, "hostile")
    assert [h.find_element(By.CSS_SELECTOR, "a.hit-title").text for h in hits] == [HOSTILE_TITLE]
    _no_alert(browser)
    assert browser.find_elements(By.CSS_SELECTOR, "#hits script, #hits img") == []
    assert canary.requests == []
    assert _csp_violations(browser) == []
    _open(browser, site + f"stories/{archive.hostile_id}?ui=zh")
    _shoot(browser, screenshots, "story-hostile")


def test_search_works_without_javascript(browser_without_js: Any, site: str) -> None:
    hits = _search(browser_without_js, site, "结对")
    assert hits
    assert browser_without_js.find_element(By.ID, "count").text.split()[0].isdigit()
    _follow(browser_without_js, hits[0].find_element(By.CSS_SELECTOR, "a.hit-title"))
    assert browser_without_js.find_element(By.ID, "title").text
    button = browser_without_js.find_element(By.CSS_SELECTOR, "button.copy")
    assert not button.is_displayed()  # nothing offered that cannot work


def test_the_copy_button_puts_the_citation_on_the_clipboard(browser: Any, site: str) -> None:
    origin = site.rstrip("/")
    browser.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": origin, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    _open(browser, site + "stories/1")
    button = _wait(browser).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "button.copy")))
    button.click()
    citation = browser.find_element(By.ID, "citation").text.strip()

    def copied(driver: Any) -> bool:
        pasted = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "navigator.clipboard.readText().then(done, (e) => done('error: ' + e));"
        )
        return bool(pasted == citation)

    _wait(browser).until(copied)


def test_the_policy_refuses_inline_script_and_our_pages_break_none_of_it(browser: Any, site: str) -> None:
    browser.get_log("browser")
    for path in ["", "search?q=" + quote("结对"), "stories/1", "sources", "timeline", "stories/9999"]:
        _open(browser, site + path)
        assert _csp_violations(browser) == [], path
    injected = browser.execute_script(
        "const s = document.createElement('script');"
        "s.textContent = 'window.ranInline = true;';"
        "document.body.appendChild(s);"
        "return window.ranInline === true;"
    )
    assert injected is False
    assert _csp_violations(browser), "an inline script is refused, and the console says so"


def test_pagination_links_walk_every_match_once(browser: Any, site: str) -> None:
    hits = _search(browser, site, PAGINATED_WORD)
    titles: list[str] = []
    pages = 0
    while True:
        pages += 1
        titles += [h.find_element(By.CSS_SELECTOR, "a.hit-title").text for h in hits]
        following = browser.find_elements(By.ID, "next-page")
        if not following:
            break
        _follow(browser, following[0])
        hits = browser.find_elements(By.CSS_SELECTOR, "#hits li.hit")
    assert pages > 1 and len(titles) == PAGED and len(set(titles)) == PAGED
    last = len(hits)
    _follow(browser, browser.find_element(By.ID, "prev-page"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#hits li.hit")) > last or last == 0


def test_the_timeline_draws_a_bar_a_month(browser: Any, site: str, screenshots: Path) -> None:
    _open(browser, site + "timeline")
    _shoot(browser, screenshots, "timeline")
    bars = browser.find_elements(By.CSS_SELECTOR, "svg#timeline rect.bar")
    assert bars
    assert all(bar.size["height"] > 0 and bar.size["width"] > 0 for bar in bars)
    counts = [int(bar.get_attribute("data-stories") or 0) for bar in bars]
    tallest = max(bars, key=lambda bar: bar.size["height"])
    assert int(tallest.get_attribute("data-stories") or 0) == max(counts)
    # each year with stories is named where the year begins on the axis: at or before its first bar
    labels = browser.find_elements(By.CSS_SELECTOR, "svg#timeline text.year")
    firsts: dict[str, WebElement] = {}
    for bar in bars:
        firsts.setdefault((bar.get_attribute("data-month") or "")[:4], bar)
    named = [label.text for label in labels]
    assert named == sorted(named) and set(firsts) <= set(named)
    for label in labels:
        if label.text in firsts:
            assert label.location["x"] <= firsts[label.text].location["x"] + 2


@pytest.mark.parametrize(("link", "name"), [("export-jsonl", "jsonl"), ("export-csv", "csv")])
def test_the_export_links_download_the_searched_rows(browser: Any, site: str, link: str, name: str) -> None:
    _search(browser, site, PAGINATED_WORD)
    body = _download(browser, browser.find_element(By.ID, link), f"pairchive-search.{name}").decode("utf-8")
    if name == "jsonl":
        titles = [json.loads(line)["title"] for line in body.splitlines()]
    else:
        titles = [row["title"] for row in csv.DictReader(io.StringIO(body))]
    assert len(titles) == PAGED and all(t.startswith(PAGINATED_WORD) for t in titles)


@pytest.fixture(scope="module")
def pg_site(
    sample_web: SampleWeb, canary: Canary, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, WebArchive]]:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(
            f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    folder = tmp_path_factory.mktemp("web-browser-pg")
    for url in _pg_schema_url(base):
        pg = build(sample_web, folder, url, canary.url)
        with serve(pg.db_url, pg.data_dir) as served:
            yield served, pg


def test_on_postgresql_search_story_and_hostile_page_work(
    browser: Any, pg_site: tuple[str, WebArchive], canary: Canary, screenshots: Path
) -> None:
    site, pg = pg_site
    traditional = _search(browser, site, "結對 手拉手")
    assert "zh-Hans" in {hit.get_attribute("lang") for hit in traditional}
    _shoot(browser, screenshots, "search-postgresql")
    _follow(browser, traditional[0].find_element(By.CSS_SELECTOR, "a.hit-title"))
    assert browser.find_elements(By.CSS_SELECTOR, "#sightings tr.sighting")
    _shoot(browser, screenshots, "story-postgresql")
    _open(browser, site + f"stories/{pg.hostile_id}")
    _no_alert(browser)
    assert browser.find_element(By.ID, "title").text == HOSTILE_TITLE
    assert canary.requests == []


def test_on_a_narrow_screen_the_menu_wraps_between_words_never_inside_one(browser: Any, site: str) -> None:
    metrics = {"width": 400, "height": 900, "deviceScaleFactor": 1, "mobile": True}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        _open(browser, site + "?ui=zh")
        lines = browser.execute_script(
            "return [...document.querySelectorAll('#nav a')].map(a => [a.textContent,"
            " a.getBoundingClientRect().height / parseFloat(getComputedStyle(a).fontSize)]);"
        )
        assert [text for text, ems in lines if ems >= 2] == []  # one line of text is under 2em high
    finally:
        metrics.update(width=WINDOW[0], height=WINDOW[1], mobile=False)
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
