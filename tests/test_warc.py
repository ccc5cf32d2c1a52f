"""Raw captures: every fetched article page's request and response in the run's WARC file, read back byte
for byte through the stored pointers, checked by `pairchive warc verify` and by warcio's own tools."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import brotli
import pytest
import sqlalchemy as sa

from crawler.sampleweb import SampleWeb
from storage.db import close_all, open_for_writing
from storage.models import Article, Capture, Rejection
from storage.warc import decode_content
from tests.crawls import QuietHandler, crawl, demo_sources, pairchive, serve

WARCIO = [sys.executable, "-m", "warcio.cli"]


@pytest.fixture(scope="module")
def archive(sample_web: SampleWeb, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The whole sample web crawled into a SQLite file; its WARC files sit beside it in warc/."""
    folder = tmp_path_factory.mktemp("warc")
    sources = demo_sources(sample_web, folder)
    db = f"sqlite:///{folder / 'archive.db'}"
    result = crawl(sources, db)
    assert result.returncode == 0, result.stderr[-3000:]
    sessions = open_for_writing(db).sessions
    with sessions() as s:
        data = {
            "folder": folder,
            "db": db,
            "articles": [(a.id, a.fetched_url, a.capture_id) for a in s.scalars(sa.select(Article))],
            "rejections": [
                (r.reason, r.url, r.capture_id)
                for r in s.scalars(sa.select(Rejection).order_by(Rejection.id))
            ],
            "captures": {
                c.id: (c.url, c.warc_file, c.offset, c.length, c.payload_digest)
                for c in s.scalars(sa.select(Capture))
            },
        }
    close_all()
    return data


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return bytes(response.read())


def test_every_stored_article_prints_the_exact_bytes_that_were_fetched(archive: dict[str, Any]) -> None:
    assert archive["articles"]
    for article_id, url, capture_id in archive["articles"]:
        assert capture_id is not None
        shown = subprocess.run(
            [sys.executable, "-m", "crawler", "show", str(article_id), "--raw", "--db", archive["db"]],
            capture_output=True,
            check=True,
        )
        assert shown.stdout == _fetch(url)


def test_rejected_article_pages_keep_their_capture_too(archive: dict[str, Any]) -> None:
    article_pages = [r for r in archive["rejections"] if r[0] in ("not_pairing", "no_text", "duplicate")]
    assert {r[0] for r in article_pages} == {"not_pairing", "no_text", "duplicate"}
    for _reason, url, capture_id in article_pages:
        assert capture_id is not None and archive["captures"][capture_id][0] == url
    # pages never read (robots.txt, not HTML, failed) have nothing to capture
    assert all(
        r[2] is None for r in archive["rejections"] if r[0] in ("robots_disallowed", "not_html", "failed")
    )


def test_warc_verify_passes_and_warcio_checks_and_indexes_every_record(archive: dict[str, Any]) -> None:
    result = pairchive("warc", "verify", "--db", archive["db"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"checked {len(archive['captures'])} capture(s)" in result.stdout
    assert "every pointer and digest matches" in result.stdout

    files = sorted((archive["folder"] / "warc").rglob("*.warc.gz"))
    assert len(files) == len({c[1] for c in archive["captures"].values()})
    checked = subprocess.run([*WARCIO, "check", *map(str, files)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    indexed = subprocess.run(
        [*WARCIO, "index", "-f", "warc-type,warc-target-uri,offset,warc-payload-digest", *map(str, files)],
        capture_output=True,
        text=True,
        check=True,
    )
    entries = [json.loads(line) for line in indexed.stdout.splitlines()]
    responses = {(e["warc-target-uri"], int(e["offset"])): e for e in entries if e["warc-type"] == "response"}
    for url, _file, offset, _length, digest in archive["captures"].values():
        assert responses[(url, offset)]["warc-payload-digest"] == digest
    # each response has its request, and each file opens with a warcinfo record
    assert sum(e["warc-type"] == "request" for e in entries) == len(responses)
    assert sum(e["warc-type"] == "warcinfo" for e in entries) == len(files)


def _copy(archive: dict[str, Any], tmp_path: Path) -> tuple[str, Path]:
    shutil.copytree(archive["folder"], tmp_path / "copy")
    return f"sqlite:///{tmp_path / 'copy' / 'archive.db'}", tmp_path / "copy" / "warc"


def test_warc_verify_reports_a_changed_byte_a_cut_file_and_a_missing_file(
    archive: dict[str, Any], tmp_path: Path
) -> None:
    db, root = _copy(archive, tmp_path)
    captures = sorted(archive["captures"].items())
    files = sorted({c[1] for _, c in captures})
    assert len(files) >= 3

    # one byte changed inside a stored page: the gzip member no longer reads or the digest no longer matches
    first_id, (_, name, offset, length, _) = next((i, c) for i, c in captures if c[1] == files[0])
    page = root / name
    data = bytearray(page.read_bytes())
    data[offset + length // 2] ^= 0xFF
    page.write_bytes(bytes(data))
    # a file cut short: its last capture's record is no longer whole
    cut_id, (_, cut_name, cut_offset, _, _) = [(i, c) for i, c in captures if c[1] == files[1]][-1]
    with (root / cut_name).open("r+b") as f:
        f.truncate(cut_offset + 10)
    # a file gone
    (root / files[2]).unlink()
    gone = [i for i, c in captures if c[1] == files[2]]

    result = pairchive("warc", "verify", "--db", db)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"capture {first_id} ") for line in lines)
    assert any(line.startswith(f"capture {cut_id} ") and "file ends" in line for line in lines)
    for capture_id in gone:
        assert any(line.startswith(f"capture {capture_id} ") and "No such file" in line for line in lines)
    assert "problem(s)" in lines[-1]


def test_show_raw_of_an_article_without_capture_is_one_line(archive: dict[str, Any], tmp_path: Path) -> None:
    db, _ = _copy(archive, tmp_path)
    article_id = archive["articles"][0][0]
    engine = sa.create_engine(db)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE articles SET capture_id = NULL WHERE id = :id"), {"id": article_id})
    engine.dispose()
    result = pairchive("show", str(article_id), "--raw", "--db", db)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: article {article_id} has no raw capture (it was fetched before raw captures were kept)"
    ]


STORY = "两地学校结对帮扶，教师互派交流，学生手拉手结对，共建教育共同体，学校共同提高。" * 4
PAGE = f"<html><head><title>两校结对</title></head><body><h1>两校结对</h1><p>{STORY}</p></body></html>"


class GzipPortal(QuietHandler):
    """A portal that sends its pages gzip-encoded and chunked, as many real servers do."""

    protocol_version = "HTTP/1.1"
    coding = "gzip"

    def pack(self, body: bytes) -> bytes:
        return gzip.compress(body, mtime=0)

    def do_GET(self) -> None:
        if self.path == "/list.html":
            body = b'<html><body><a href="/a/1.html">story</a></body></html>'
        elif self.path == "/a/1.html":
            body = PAGE.encode("gb18030")
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        packed = self.pack(body)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=gb18030")
        self.send_header("Content-Encoding", self.coding)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for start in range(0, len(packed), 100):
            chunk = packed[start : start + 100]
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")


def _crawl_one_page(portal: type[GzipPortal], db_url: str, tmp_path: Path) -> Path:
    """Crawl a one-story portal into `db_url`; the data directory its WARC files are in."""
    with serve(portal) as base:
        sources = tmp_path / "sources.toml"
        sources.write_text(
            f'[[source]]\nname = "one"\nstart_urls = ["{base}/list.html"]\narticle_pattern = "/a/"\n',
            encoding="utf-8",
        )
        data_dir = tmp_path / "data"
        result = crawl(sources, db_url, "--data-dir", str(data_dir))
        assert result.returncode == 0, result.stderr[-2000:]
    return data_dir


def _show_raw(article_id: int, db_url: str, data_dir: Path) -> bytes:
    shown = subprocess.run(
        [sys.executable, "-m", "crawler", "show", str(article_id), "--raw", "--db", db_url],
        capture_output=True,
        check=True,
        env={**os.environ, "PAIRCHIVE_DATA_DIR": str(data_dir)},
    )
    return shown.stdout


def test_a_gzip_page_is_kept_as_sent_and_shown_as_the_page(db_url: str, tmp_path: Path) -> None:
    """The record holds the body as the server sent it (gzip, digest over those bytes); `show --raw` gives
    the page itself; the record claims no chunking it no longer has. Both databases."""
    data_dir = _crawl_one_page(GzipPortal, db_url, tmp_path)
    sessions = open_for_writing(db_url).sessions
    with sessions() as s:
        article = s.scalars(sa.select(Article)).one()
        article_id, capture = article.id, article.capture
        assert capture is not None
        name, offset, length = capture.warc_file, capture.offset, capture.length
    close_all()

    assert _show_raw(article_id, db_url, data_dir) == PAGE.encode("gb18030")

    with (data_dir / "warc" / name).open("rb") as f:
        f.seek(offset)
        record = gzip.decompress(f.read(length))
    head, _, body = record.partition(b"\r\n\r\n")[2].partition(b"\r\n\r\n")
    assert b"Content-Encoding: gzip" in head
    assert b"\r\nTransfer-Encoding" not in head  # the chunks were joined: nothing for a replay to undo
    assert body.endswith(b"\r\n\r\n")  # the record's end
    assert gzip.decompress(body[:-4]) == PAGE.encode("gb18030")

    verified = pairchive("warc", "verify", "--db", db_url, "--data-dir", str(data_dir))
    assert verified.returncode == 0, verified.stdout + verified.stderr


class BrotliPortal(GzipPortal):
    """A portal answering Scrapy's `Accept-Encoding: br` with brotli."""

    coding = "br"

    def pack(self, body: bytes) -> bytes:
        return brotli.compress(body)


def test_a_brotli_page_is_kept_as_sent_and_shown_as_the_page(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'a.db'}"
    data_dir = _crawl_one_page(BrotliPortal, db_url, tmp_path)
    sessions = open_for_writing(db_url).sessions
    with sessions() as s:
        article = s.scalars(sa.select(Article)).one()
        article_id, text = article.id, article.text
    close_all()
    assert STORY[:20] in text
    assert _show_raw(article_id, db_url, data_dir) == PAGE.encode("gb18030")


@pytest.mark.parametrize(
    "payload, header, page",
    [
        (gzip.compress(b"<p>x</p>", mtime=0), "gzip", b"<p>x</p>"),
        (gzip.compress(b"<p>x", mtime=0) + gzip.compress(b"</p>", mtime=0), "gzip", b"<p>x</p>"),  # 2 members
        (gzip.compress(b"<p>x</p>", mtime=0)[:-6], "gzip", gzip.compress(b"<p>x</p>", mtime=0)[:-6]),  # cut
        (zlib.compress(b"<p>x</p>"), "deflate", b"<p>x</p>"),
        (zlib.compress(b"<p>x</p>")[2:-4], "deflate", b"<p>x</p>"),  # raw deflate, as some servers send it
        (brotli.compress(gzip.compress(b"<p>x</p>", mtime=0)), "gzip, br", b"<p>x</p>"),
        (b"<p>x</p>", "identity", b"<p>x</p>"),
        (b"\x28\xb5\x2f\xfd", "zstd", b"\x28\xb5\x2f\xfd"),  # a coding not undone: kept as received
        (b"not gzip at all", "gzip", b"not gzip at all"),  # a body that is not what its header says
    ],
)
def test_content_codings_are_undone_in_order_or_the_body_is_kept_as_received(
    payload: bytes, header: str, page: bytes
) -> None:
    assert decode_content(payload, header) == page


PYWB_ENV = "PAIRCHIVE_TEST_PYWB"


@contextmanager
def wayback(bin_dir: Path, root: Path) -> Iterator[str]:
    """pywb's replay server over the collections in `root`, on a loopback port; its base URL."""
    with socket.socket() as probe:  # a free port: pywb takes a number, not 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [str(bin_dir / "wayback"), "-b", "127.0.0.1", "-p", str(port), "-d", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    drain: threading.Thread | None = None
    try:
        for line in proc.stderr:  # pywb says when it listens; no polling
            if "Starting" in line and str(port) in line:
                break
        else:
            pytest.fail(f"pywb did not start (exit code {proc.wait()})")
        # keep reading its log, so a full pipe never stalls it
        drain = threading.Thread(target=proc.stderr.read, daemon=True)
        drain.start()
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if drain is not None:
            drain.join(timeout=10)
        proc.stderr.close()


def test_pywb_indexes_and_replays_every_capture_as_fetched(archive: dict[str, Any], tmp_path: Path) -> None:
    """The standard replay tool reads the WARC files: its index points where the database points, with
    the same digest, and replay gives each page's bytes as the portal served them."""
    bin_dir = os.environ.get(PYWB_ENV)
    if not bin_dir:
        pytest.skip(f"the pywb replay test needs {PYWB_ENV}: the bin directory of an environment with pywb")
    bin_path = Path(bin_dir)
    root = tmp_path / "pywb"
    root.mkdir()
    files = sorted((archive["folder"] / "warc").rglob("*.warc.gz"))
    subprocess.run(
        [str(bin_path / "wb-manager"), "init", "pairchive"], cwd=root, check=True, capture_output=True
    )
    subprocess.run(
        [str(bin_path / "wb-manager"), "add", "pairchive", *map(str, files)],
        cwd=root,
        check=True,
        capture_output=True,
    )
    assert archive["captures"]
    with wayback(bin_path, root) as base:
        for url, warc_file, offset, length, digest in archive["captures"].values():
            query = urllib.parse.urlencode({"url": url, "output": "json"})
            (entry,) = [json.loads(line) for line in _fetch(f"{base}/pairchive/cdx?{query}").splitlines()]
            assert entry["filename"] == Path(warc_file).name
            assert (int(entry["offset"]), int(entry["length"])) == (offset, length)
            assert f"sha1:{entry['digest']}" == digest
            assert _fetch(f"{base}/pairchive/{entry['timestamp']}id_/{url}") == _fetch(url)
