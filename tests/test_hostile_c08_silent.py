"""Class 8 of the hostile web (tests.hostile.c08_silent): every page a crawl asks for ends stored or as a
rejection with its reason, counted in the run: redirect loops (to itself, in a circle, past the redirect
limit) are `redirect_loop`, a redirect to a page the run asks for anyway is `redirected`, one off the
source's allowed domains is `offsite` (under the page asked for, counted once), a feed or sitemap
that does not parse is `unparsable`, never an empty file, and a body that is no HTML page is `not_html`."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

import sqlalchemy as sa

from crawler.runner.crawl import crawl as run_crawl
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.sources import parse_sources
from storage.db import close_all, open_for_writing
from storage.models import Article, Rejection
from tests.crawls import LOOPBACK_SETTINGS
from tests.hostile import HostileWeb
from tests.hostile.c08_silent import OFFSITE_TARGET, OUTCOMES


def _crawl(hostile: HostileWeb, db_url: str) -> dict[str, Any]:
    sitemaps = ", ".join(f'"{hostile.url(8, p)}"' for p in ("noise.xml", "broken.xml.gz", "empty.xml"))
    (source,) = parse_sources(
        f'[[source]]\nname = "silent"\nstart_urls = ["{hostile.url(8, "list.html")}"]\n'
        f'feeds = ["{hostile.url(8, "feed.xml")}"]\nsitemaps = [{sitemaps}]\n'
        'article_pattern = "/c08/a/"\n'
    )
    log = io.StringIO()  # the crawl's log: warnings, never a traceback
    (run,) = run_crawl(
        AppConfig(db_url=db_url), [source], settings={**LOOPBACK_SETTINGS, "RETRY_TIMES": 0}, log_sink=log
    )
    sessions = open_for_writing(db_url).sessions
    with sessions() as s:
        found = {
            "status": run.status,
            "error": run.error,
            "log": log.getvalue(),
            "counts": dict(run.counts or {}),
            "stored": {a.fetched_url for a in s.scalars(sa.select(Article))},
            "rejections": {r.url: (r.reason, r.detail) for r in s.scalars(sa.select(Rejection))},
        }
    close_all()
    return found


def test_every_page_asked_for_ends_stored_or_as_a_rejection_that_says_why(
    hostile: HostileWeb, db_url: str
) -> None:
    found = _crawl(hostile, db_url)
    assert "Traceback" not in found["log"] and " ERROR " not in found["log"], found["log"][-3000:]
    outcomes = {url: reason for url, (reason, _) in found["rejections"].items()}
    outcomes.update({url: "stored" for url in found["stored"]})
    assert outcomes == {hostile.url(8, path): outcome for path, outcome in OUTCOMES.items()}
    counts = Counter(OUTCOMES.values())
    for reason in ("redirect_loop", "redirected", "unparsable", "not_html", "offsite", "stored"):
        assert found["counts"][reason] == counts[reason], reason  # the offsite redirect counted once
    # The run read its listing, so it is ok; its record still names the entry points it could not read.
    assert found["status"] == "ok"
    assert "4 entry point(s) refused: " in found["error"] and "unparsable" in found["error"]
    # ... and each says why
    detail = {url: d for url, (_, d) in found["rejections"].items()}
    assert detail[hostile.url(8, "a/self.html")] == "redirects to itself"
    assert detail[hostile.url(8, "a/ping.html")].startswith("redirects back to ")
    assert detail[hostile.url(8, "a/hop-0.html")] == "redirected more than 20 times"
    assert detail[hostile.url(8, "a/old.html")].startswith("to " + hostile.url(8, "a/new.html"))
    assert detail[hostile.url(8, "feed.xml")] == "feed: not an RSS or Atom feed: the document is <html>"
    assert detail[hostile.url(8, "broken.xml.gz")].startswith("sitemap: gzip data is corrupt")
    assert detail[hostile.url(8, "a/blob.png")].startswith("not an HTML page")
    port = hostile.url(8).split(":")[2].split("/")[0]
    assert detail[hostile.url(8, "a/away.html")] == (
        f"redirect to http://localhost:{port}{OFFSITE_TARGET}: not on the source's allowed domains"
    )
    assert OFFSITE_TARGET not in hostile.asked  # judged before it was followed
