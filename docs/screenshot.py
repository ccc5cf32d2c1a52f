"""docs/reading-room.png, the README's picture of the reading room: `pairchive serve` over the demo archive,
the search page of a pairing query in headless Chromium (Debian's, through its chromedriver: `make browser`).

    make screenshot        # runs `make demo` first, then: python docs/screenshot.py --db demo-output/demo.db
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WIDTH, HEIGHT = 1280, 900
WAIT = 30
LISTENING = re.compile(r"serving the archive at (http://\S+/) ")


def shoot(base: str, query: str, out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="pairchive-screenshot-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
        ]:
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        try:
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
            )
            driver.get(f"{base}search?q={quote(query)}")
            WebDriverWait(driver, WAIT).until(EC.presence_of_element_located((By.ID, "count")))
            WebDriverWait(driver, WAIT).until(
                lambda d: d.execute_script("return document.fonts.status") == "loaded"
            )
            out.write_bytes(driver.get_screenshot_as_png())
        finally:
            driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="demo-output/demo.db", help="the archive (a SQLite file or a URL)")
    parser.add_argument("--query", default="结对 OR pairing", help="what the pictured page searches for")
    parser.add_argument("--out", default="docs/reading-room.png", type=Path)
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-m", "crawler", "serve", "--db", args.db, "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert server.stderr is not None
    try:
        for line in server.stderr:  # the server says where it listens before it serves
            match = LISTENING.search(line)
            if match:
                break
        else:
            sys.exit(f"pairchive serve ended without serving (exit {server.wait()})")
        shoot(match.group(1), args.query, args.out)
    finally:
        server.terminate()
        server.wait(WAIT)
    print(f"{args.out}: the search page of {args.query!r} on {args.db}", file=sys.stderr)


if __name__ == "__main__":
    main()
