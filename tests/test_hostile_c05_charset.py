"""Class 5 of the hostile web (tests.hostile.c05_charset): a page, listing or feed that declares a codec that
is no charset (base64, rot13, zlib, undefined, idna, utf-16 in GBK bytes) is read as its bytes decide, as if
the declaration were wrong; the page is stored, never failed with an internal error."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from crawler.cli import main
from crawler.runner.crawl import crawl as run_crawl
from crawler.vocabulary.config import AppConfig
from crawler.vocabulary.sources import parse_sources
from storage.db import close_all, open_for_writing
from storage.models import Article, Rejection
from tests.crawls import LOOPBACK_SETTINGS, STORY
from tests.hostile import HostileWeb
from tests.hostile.c05_charset import ARTICLES, FEED_ITEM, article_path


def _crawl(hostile: HostileWeb, db_url: str) -> dict[str, Any]:
    (source,) = parse_sources(
        f'[[source]]\nname = "charsets"\nstart_urls = ["{hostile.url(5, "list.html")}"]\n'
        f'feeds = ["{hostile.url(5, "feed.xml")}"]\n'
        'article_pattern = "/c05/a/"\n'
    )
    log = io.StringIO()  # the crawl's log: warnings, never a traceback
    (run,) = run_crawl(
        AppConfig(db_url=db_url), [source], settings={**LOOPBACK_SETTINGS, "RETRY_TIMES": 0}, log_sink=log
    )
    sessions = open_for_writing(db_url).sessions
    with sessions() as s:
        found = {
            "status": run.status,
            "log": log.getvalue(),
            "counts": dict(run.counts or {}),
            "articles": {a.fetched_url: (a.charset, a.text) for a in s.scalars(sa.select(Article))},
            "rejections": [(r.url, r.reason, r.detail) for r in s.scalars(sa.select(Rejection))],
        }
    close_all()
    return found


def test_pages_declaring_a_codec_that_is_no_charset_are_stored_as_their_bytes_decide(
    hostile: HostileWeb, db_url: str
) -> None:
    found = _crawl(hostile, db_url)
    assert "Traceback" not in found["log"] and " ERROR " not in found["log"], found["log"][-3000:]
    assert found["status"] == "ok"
    assert found["rejections"] == []
    names = [name for name, *_ in ARTICLES] + [FEED_ITEM[0]]
    assert set(found["articles"]) == {hostile.url(5, article_path(name)) for name in names}
    for name, _, _, _, encoding in [*ARTICLES, FEED_ITEM]:
        charset, text = found["articles"][hostile.url(5, article_path(name))]
        assert charset == ("gb18030" if encoding == "gbk" else "utf-8"), name
        assert STORY[:20] in text and "\ufffd" not in text, name
    assert found["counts"]["stored"] == len(names)
    assert found["counts"]["failed"] == 0


@pytest.mark.parametrize("name, does, header, meta, encoding", ARTICLES, ids=[a[0] for a in ARTICLES])
def test_scrapy_reads_each_hostile_declaration_without_raising(
    name: str, does: str, header: str, meta: str | None, encoding: str
) -> None:
    from scrapy.http import HtmlResponse

    from crawler.process.charset import ScrapyCharset
    from tests.hostile.c05_charset import _article

    body = _article(1, meta, encoding)
    response = ScrapyCharset().process_response(
        None, HtmlResponse("http://portal.test/a.html", body=body, headers={"Content-Type": header})
    )
    assert isinstance(response, HtmlResponse)
    assert STORY[:20] in response.text


@pytest.mark.parametrize("codec", ["base64", "undefined", "rot13"])
def test_extract_refuses_a_charset_option_that_is_no_charset_in_one_line(codec: str, tmp_path: Path) -> None:
    from tests.hostile.c05_charset import _article

    saved = tmp_path / "page.html"
    saved.write_bytes(_article(1, None, "gbk"))
    result = CliRunner().invoke(main, ["extract", str(saved), "--charset", codec])
    assert result.exit_code == 2
    assert f"'{codec}' is not a charset" in result.output and "Traceback" not in result.output
