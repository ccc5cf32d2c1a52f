"""Raw captures in WARC (ISO 28500, written and read with warcio): the exact bytes of every fetched article.

Each crawl run appends to a WARC file of its own under the archive's WARC directory, one gzip member per
record (so any record can be read alone from its offset, and standard tools index the file): a `warcinfo`
record first, then for each article page its `response` and the `request` that asked for it. After each
pair the file is synced to disk before the database is given its pointer (file, offset, length), so a
pointer never refers to bytes that are not on disk.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

import brotli

from storage.errors import PairchiveError

# warcio is imported where a record is written or parsed: the archive's commands import this module, and
# only `show --raw`, `warc verify`, reprocess and the crawl read or write a record.
if TYPE_CHECKING:
    from warcio.warcwriter import WARCWriter

# Headers describing a transfer framing the stored body no longer has (Twisted has undone it): kept under
# this prefix, as other archiving crawlers do, so a reader does not try to undo it again.
ORIGINAL_PREFIX = "X-Archive-Orig-"
FRAMING_HEADERS = {"transfer-encoding"}


class WarcError(PairchiveError):
    """A capture could not be written, or a stored pointer does not lead to its record."""


@dataclass(frozen=True)
class Pointer:
    """Where one fetched page's records are: what the `captures` table keeps."""

    warc_file: str  # relative to the WARC directory
    offset: int
    length: int
    request_offset: int
    request_length: int
    record_id: str
    payload_digest: str


@dataclass
class Exchange:
    """One response record read back."""

    url: str
    date: str
    record_id: str
    status_line: str
    headers: list[tuple[str, str]]
    payload: bytes  # the body as received (still in any Content-Encoding)
    content: bytes  # the body with any Content-Encoding undone: the page's bytes


def payload_digest(data: bytes) -> str:
    """The WARC-Payload-Digest form: sha1, base32."""
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def _headers(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    out = []
    for name, value in pairs:
        if name.lower() in FRAMING_HEADERS:
            name = ORIGINAL_PREFIX + name
        out.append((name, value))
    return out


# One part of a WARC file's path under the WARC directory: a source name, a file name. Matched whole
# (a "$" would let "name\n" through); "." and ".." are refused apart, so no name leaves the directory.
WARC_PART_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")


def warc_path(root: Path, warc_file: str) -> Path:
    """Where `warc_file` (a relative name such as `source/file.warc.gz`) lives under `root`; a name that
    would lead elsewhere (absolute, `..`, a newline, a backslash) is a WarcError."""
    parts = warc_file.split("/")
    if not all(WARC_PART_RE.fullmatch(part) for part in parts):
        raise WarcError(f"{warc_file!r} is not a WARC file name under the WARC directory")
    return root.joinpath(*parts)


class WarcFile:
    """One run's WARC file, created on the first capture and appended pair by pair."""

    def __init__(self, root: Path, name: str, info: dict[str, str]) -> None:
        self.root = root
        self.name = name
        self.info = info
        self._file: Any = None
        self._writer: WARCWriter | None = None

    @property
    def path(self) -> Path:
        return warc_path(self.root, self.name)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("xb")  # a run never writes into another run's file
        from warcio.warcwriter import WARCWriter

        self._writer = WARCWriter(self._file, gzip=True, warc_version="1.1")
        self._append([self._writer.create_warcinfo_record(self.path.name, self.info)])

    def _append(self, records: Sequence[Any]) -> list[tuple[int, int]]:
        """Write `records`, sync, and return each one's (offset, length); on failure the file is cut back
        to where it was, so it stays a valid WARC file."""
        assert self._writer is not None
        start = self._file.tell()
        spans = []
        try:
            for record in records:
                offset = self._file.tell()
                self._writer.write_record(record)
                spans.append((offset, self._file.tell() - offset))
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError:
            try:
                self._file.truncate(start)
                self._file.seek(start)
            except OSError:
                pass
            raise
        return spans

    def write(
        self,
        *,
        url: str,
        fetched_at: datetime,
        method: str,
        request_headers: Iterable[tuple[str, str]],
        request_body: bytes,
        protocol: str,
        status: int,
        response_headers: Iterable[tuple[str, str]],
        body: bytes,
    ) -> Pointer:
        """Append one fetched page's response and request records; raises WarcError (disk full, ...)."""
        from warcio.statusandheaders import StatusAndHeaders
        from warcio.timeutils import datetime_to_iso_date

        try:
            if self._writer is None:
                self._open()
            assert self._writer is not None
            date = datetime_to_iso_date(fetched_at.replace(tzinfo=None), use_micros=True)
            try:
                reason = HTTPStatus(status).phrase
            except ValueError:
                reason = ""
            response = self._writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                warc_headers_dict={"WARC-Date": date},
                http_headers=StatusAndHeaders(
                    f"{status} {reason}".strip(), _headers(response_headers), protocol=protocol or "HTTP/1.1"
                ),
            )
            record_id = response.rec_headers.get_header("WARC-Record-ID")
            parts = url.split("/", 3)
            target = "/" + (parts[3] if len(parts) > 3 else "")
            request = self._writer.create_warc_record(
                url,
                "request",
                payload=io.BytesIO(request_body),
                length=len(request_body),
                warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": record_id},
                http_headers=StatusAndHeaders(
                    f"{method} {target} HTTP/1.1", _headers(request_headers), is_http_request=True
                ),
            )
            (offset, length), (request_offset, request_length) = self._append([response, request])
        except OSError as exc:
            raise WarcError(f"cannot write the raw capture to {self.path}: {exc.strerror or exc}") from exc
        return Pointer(
            warc_file=self.name,
            offset=offset,
            length=length,
            request_offset=request_offset,
            request_length=request_length,
            record_id=record_id,
            payload_digest=response.rec_headers.get_header("WARC-Payload-Digest"),
        )

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._writer = None


def read_member(root: Path, warc_file: str, offset: int, length: int) -> bytes:
    """The bytes of one record's gzip member, checked to be exactly one whole member."""
    path = warc_path(root, warc_file)
    try:
        with path.open("rb") as f:
            f.seek(offset)
            data = f.read(length)
    except OSError as exc:
        raise WarcError(f"{warc_file}: {exc.strerror or exc}") from exc
    if len(data) != length:
        raise WarcError(f"{warc_file}: {length} bytes at {offset} asked for, the file ends after {len(data)}")
    inflater = zlib.decompressobj(wbits=31)
    try:
        inflater.decompress(data)
    except zlib.error as exc:
        raise WarcError(f"{warc_file}: no gzip record at offset {offset}: {exc}") from exc
    if not inflater.eof or inflater.unused_data:
        raise WarcError(f"{warc_file}: offset {offset} and length {length} do not delimit one record")
    return data


def _record(data: bytes, warc_file: str, offset: int) -> tuple[Any, bytes, bytes]:
    """The record in `data` with its raw payload and its decoded content."""
    from warcio.archiveiterator import ArchiveIterator

    for record in ArchiveIterator(io.BytesIO(data)):
        raw = record.raw_stream.read()
        encoding = record.http_headers.get_header("Content-Encoding") if record.http_headers else None
        return record, raw, decode_content(raw, encoding or "")

    raise WarcError(f"{warc_file}: no WARC record at offset {offset}")


def _gunzip(data: bytes) -> bytes:
    """Every gzip member in a row (some servers send several), or zlib from a server mislabelling it."""
    out = []
    while data:
        inflater = zlib.decompressobj(wbits=47)
        out.append(inflater.decompress(data))
        if not inflater.eof:
            raise zlib.error("the gzip body is cut short")
        data = inflater.unused_data
    return b"".join(out)


def decode_content(payload: bytes, content_encoding: str) -> bytes:
    """The page's bytes from a body as sent: the Content-Encoding codings (gzip, deflate, br, in the order
    the header lists them) undone. A coding this cannot undo, or a body that is not what its header says,
    leaves the payload as received."""
    content = payload
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    try:
        for coding in reversed(codings):  # the last coding applied is listed last
            if coding in ("gzip", "x-gzip"):
                content = _gunzip(content)
            elif coding == "deflate":  # zlib-wrapped as the standard says, or raw as some servers send it
                try:
                    content = zlib.decompress(content, wbits=47)
                except zlib.error:
                    content = zlib.decompress(content, wbits=-15)
            elif coding == "br":
                content = brotli.decompress(content)
            elif coding != "identity":
                return payload
    except (zlib.error, brotli.error):
        return payload
    return content


def read_exchange(root: Path, warc_file: str, offset: int, length: int) -> Exchange:
    """The response record a capture points at; raises WarcError when the pointer leads nowhere."""
    record, raw, content = _record(read_member(root, warc_file, offset, length), warc_file, offset)
    if record.rec_type != "response":
        raise WarcError(f"{warc_file}: the record at {offset} is a {record.rec_type}, not a response")
    headers = record.rec_headers
    http = record.http_headers
    if http is None:  # a capture of another scheme (a local file, FTP) made before only http(s) was fetched
        raise WarcError(
            f"{warc_file}: the record at {offset} is of {headers.get_header('WARC-Target-URI')}, "
            "not an HTTP response"
        )
    return Exchange(
        url=headers.get_header("WARC-Target-URI"),
        date=headers.get_header("WARC-Date"),
        record_id=headers.get_header("WARC-Record-ID"),
        status_line=f"{http.protocol} {http.statusline}",
        headers=list(http.headers),
        payload=raw,
        content=content,
    )


def verify_capture(root: Path, capture: Any) -> list[str]:
    """What is wrong with one stored capture (a `captures` row): missing file, a pointer that does not
    delimit its record, another record, another URL, or bytes whose digest is not the one recorded."""
    problems: list[str] = []
    try:
        exchange = read_exchange(root, capture.warc_file, capture.offset, capture.length)
    except WarcError as exc:
        return [str(exc)]
    if exchange.record_id != capture.record_id:
        problems.append(f"record {exchange.record_id} found where {capture.record_id} was stored")
    if exchange.url != capture.url:
        problems.append(f"the record is of {exchange.url}, not {capture.url}")
    digest = payload_digest(exchange.payload)
    if digest != capture.payload_digest:
        problems.append(f"payload digest {digest}, but {capture.payload_digest} was recorded")
    try:
        request, _, _ = _record(
            read_member(root, capture.warc_file, capture.request_offset, capture.request_length),
            capture.warc_file,
            capture.request_offset,
        )
    except WarcError as exc:
        problems.append(f"request: {exc}")
    else:
        if request.rec_type != "request":
            problems.append(f"the request pointer leads to a {request.rec_type} record")
        elif request.rec_headers.get_header("WARC-Concurrent-To") != capture.record_id:
            problems.append("the request record belongs to another response")
    return problems
