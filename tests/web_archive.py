"""An archive for the reading room's tests: the sample web crawled for real (WARC captures and all), and
stories written straight into it that a crawl would rarely bring: hostile markup, a revised text, many
matches of one word."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from crawler.sampleweb import SampleWeb
from storage.archive import add_revision, insert_article, start_run, upsert_sources
from storage.db import close_all, open_for_writing
from storage.normalize import search_form
from tests.crawls import crawl, demo_sources

HOSTILE_TITLE = '<script>alert("title")</script><img src=x onerror=alert(1)>结对帮扶 hostile'
PAGINATED_WORD = "分页测试"  # found in PAGED stories, and nowhere else
PAGED = 45


@dataclass
class WebArchive:
    db_url: str
    data_dir: str
    hostile_id: int
    revised_id: int
    canary_url: str


class Canary:
    """A loopback server that records every request: hostile markup that ran would call it."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        hits = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _values(source_id: int, run_id: int, n: int, title: str, text: str, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "source_id": source_id,
        "run_id": run_id,
        "url": f"http://portal.example/written/{n}.html",
        "fetched_url": f"http://portal.example/written/{n}.html",
        "title": title,
        "published": datetime(2023, 1, 1, 2, 0, tzinfo=UTC) + timedelta(days=n),
        "author": None,
        "source_name": None,
        "language": "zh-Hans",
        "text": text,
        "search_text": search_form(text),
        "relevance": 0.9,
        "is_pairing": True,
        "relevance_terms": [{"term": "结对", "category": "for", "count": 1, "weight": 0.5}],
        "content_hash": f"{n:064x}",
        "charset": "utf-8",
        "http_status": 200,
        "first_seen": datetime(2023, 6, 1, tzinfo=UTC) + timedelta(minutes=n),
    }
    values.update(extra)
    return values


def build(sample_web: SampleWeb, folder: Path, db_url: str, canary_url: str) -> WebArchive:
    """Crawl the sample web into `db_url` (its captures in `folder`), then write the test's own stories;
    `canary_url` is where the hostile story's markup would send a request if it ever ran."""
    result = crawl(demo_sources(sample_web, folder), db_url, "--data-dir", str(folder))
    assert result.returncode == 0, result.stderr[-2000:]
    sessions = open_for_writing(db_url).sessions
    hostile_text = (
        f'<script>fetch("{canary_url}script")</script>\n'
        f'<img src="{canary_url}img" onerror="alert(2)">\n'
        "两地学校结对帮扶，教师互派交流。"
    )
    with sessions.begin() as s:
        source_id = upsert_sources(
            s, [{"name": "written", "title": "Written <b>portal</b>", "timezone": "Asia/Shanghai"}]
        )["written"]
        run_id = start_run(s, source_id, "cli")
        hostile_id = insert_article(
            s,
            _values(
                source_id,
                run_id,
                1,
                HOSTILE_TITLE,
                hostile_text,
                url=f"javascript:fetch('{canary_url}href')",
                author=f'<a href="{canary_url}author">x</a>',
            ),
        )
        revised_id = insert_article(
            s, _values(source_id, run_id, 2, "修订的结对报道", "第一段不变。\n第二段原文。\n第三段不变。")
        )
        for n in range(PAGED):
            insert_article(
                s,
                _values(
                    source_id, run_id, 100 + n, f"{PAGINATED_WORD} {n:02d}", f"{PAGINATED_WORD}，第{n}篇。"
                ),
            )
    assert hostile_id is not None and revised_id is not None
    with sessions.begin() as s:
        revised = _values(
            source_id, run_id, 2, "修订的结对报道", "第一段不变。\n第二段改过了。\n第三段不变。"
        )
        revised["content_hash"] = f"{999:064x}"
        revised["fetched_at"] = datetime(2023, 7, 1, tzinfo=UTC)
        assert add_revision(s, revised_id, revised) == 2
    close_all()
    return WebArchive(db_url, str(folder), hostile_id, revised_id, canary_url)
