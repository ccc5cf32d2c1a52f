"""The export forms shared by `pairchive export`, `search --csv` and the reading room's downloads: the CSV
columns of a stored story, and cells no spreadsheet runs as formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

# A cell starting with one of these is a formula to a spreadsheet, run when the file is opened (OWASP's
# CSV injection rule): such cells get a leading "'", which the spreadsheet shows as text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell that no spreadsheet runs as a formula; anything but text is kept as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


CSV_COLUMNS = (
    "id", "story_id", "url", "fetched_url", "source", "title", "published", "author", "source_name",
    "language", "relevance", "is_pairing", "stage_versions", "flag_reason", "content_hash", "charset", "http_status", "fetched_at", "first_seen",
    "run_id",
    "sightings", "warc_file", "warc_offset", "warc_length", "payload_digest", "text",
)  # fmt: skip


def csv_row(record: dict[str, Any]) -> list[Any]:
    row = dict(record)
    # one cell: every URL the story was seen at, first seen first
    row["sightings"] = " ".join(seen["url"] for seen in record["sightings"])
    row["stage_versions"] = versions_text(record["stage_versions"])
    row["flag_reason"] = (record["flag"] or {}).get("reason")
    capture = record["capture"] or {}
    row["warc_file"], row["warc_offset"] = capture.get("warc_file"), capture.get("offset")
    row["warc_length"], row["payload_digest"] = capture.get("length"), capture.get("payload_digest")
    return [row[column] for column in CSV_COLUMNS]


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]], *, raw: bool = False) -> Iterator[str]:
    """The CSV text of a header row and `rows` (cells spreadsheet-safe unless `raw`), a row at a time."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    yield out.getvalue()
    for row in rows:
        out.seek(0)
        out.truncate()
        writer.writerow(row if raw else [spreadsheet_safe(cell) for cell in row])
        yield out.getvalue()


def versions_text(versions: dict[str, Any] | None) -> str:
    """Stage versions as one line: `extract 3, clean 2, relevance logistic-...`."""
    if not versions:
        return "before versions were recorded"
    return ", ".join(f"{stage} {version}" for stage, version in sorted(versions.items()))
