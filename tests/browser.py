"""A real browser for the reading room's tests: Debian's Chromium, headless, driven by Selenium through the
system chromedriver (`make browser` installs both). Selenium never looks for or downloads a driver of its own.

Without the browser the tests skip with one line, except where PAIRCHIVE_TEST_BROWSER=1 (CI): there it fails.
Screenshots go to the folder in PAIRCHIVE_SCREENSHOTS when it is set, else to pytest's temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
BROWSER_ENV = "PAIRCHIVE_TEST_BROWSER"
SCREENSHOTS_ENV = "PAIRCHIVE_SCREENSHOTS"
WINDOW = (1280, 900)  # the page's size, fixed, so screenshots are comparable from run to run
PAGE_WAIT = 20  # seconds an explicit wait gives a page on loopback

FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-sync",
    "--lang=zh-CN",
]


def _missing() -> str | None:
    absent = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if absent:
        return f"the browser tests need {' and '.join(absent)} (`make browser` installs them)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the browser tests need selenium (the `test` extra)"
    return None


def start(profile: Path, downloads: Path, javascript: bool = True) -> Any:
    """A headless Chromium on a fresh profile: JavaScript on or off, downloads saved in `downloads`,
    its console kept for the test to read."""
    why = _missing()
    if why:
        if os.environ.get(BROWSER_ENV) == "1":
            pytest.fail(why)
        pytest.skip(why)
    # Selenium Manager is never asked for a driver: the path is given, and it is told to stay offline.
    os.environ.setdefault("SE_OFFLINE", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={WINDOW[0]},{WINDOW[1]}")
    prefs: dict[str, Any] = {
        "download.default_directory": str(downloads),
        "download.prompt_for_download": False,
        "safebrowsing.enabled": False,
    }
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    options.add_experimental_option("prefs", prefs)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver: Any = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    # the page itself is WINDOW wide and high (a window of that size has less room inside)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False},
    )
    driver.set_page_load_timeout(PAGE_WAIT)
    driver.pairchive_downloads = downloads
    return driver


def _driver(tmp_path_factory: pytest.TempPathFactory, javascript: bool) -> Iterator[Any]:
    name = "browser" if javascript else "browser-nojs"
    driver = start(
        tmp_path_factory.mktemp(f"{name}-profile"), tmp_path_factory.mktemp(f"{name}-downloads"), javascript
    )
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium with JavaScript, for the whole session."""
    yield from _driver(tmp_path_factory, javascript=True)


@pytest.fixture(scope="session")
def browser_without_js(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium with JavaScript turned off, as some readers browse."""
    yield from _driver(tmp_path_factory, javascript=False)


def downloads_of(driver: Any) -> Path:
    """The folder the driver's downloads land in."""
    folder: Path = driver.pairchive_downloads
    return folder


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests' screenshots go: $PAIRCHIVE_SCREENSHOTS, else pytest's temporary folder."""
    chosen = os.environ.get(SCREENSHOTS_ENV)
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"screenshots of the reading room: {folder}")
    return folder
