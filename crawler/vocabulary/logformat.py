"""How pairchive's log looks on stderr: readable lines (the default), or one JSON object per event.

    {"time": "2026-11-25T02:30:02.402Z", "level": "INFO", "logger": "pairchive.daemon",
     "event": "run_finished", "message": "run 118 of linxia-news: ok fetched=7 stored=1",
     "source": "linxia-news", "run": 118, "status": "ok", "counts": {"fetched": 7, "stored": 1}}

`event` is a short stable word a log collector can match on (the daemon's, passed with `extra=event(...)`;
`log` for a record that names none, a library's); the event's fields are among EVENT_FIELDS. A traceback
is the field `traceback`, so an object stays one line. In JSON mode every line on stderr is an object:
Python's warnings and uncaught exceptions of threads go through the log, and a crawl subprocess's stderr,
relayed by its parent, through JsonRelay, which wraps a line that is not an object already.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from datetime import UTC, datetime
from typing import IO, Any

from storage.redact import scrub

TEXT, JSON = "text", "json"
FORMATS = (TEXT, JSON)
FORMAT_ENV = "PAIRCHIVE_LOG_FORMAT"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# The fields an event may carry besides its message; a record's other attributes are not part of the format.
EVENT_FIELDS = (
    "source",
    "run",
    "status",
    "counts",
    "error",
    "reason",
    "next_run",
    "retry_at",
    "sources",
    "added",
    "changed",
    "removed",
    "crawling",
    "signal",
    "database",
)
DEFAULT_EVENT = "log"  # a record with no event of its own: a library's, or a line the daemon does not name


def event(name: str, **fields: Any) -> dict[str, Any]:
    """The `extra=` of a log call: the event's name and its fields (None fields are left out)."""
    return {"event": name, **{k: v for k, v in fields.items() if v is not None}}


def _clean(value: Any) -> Any:
    """A field as JSON can hold it, its text scrubbed of passwords as a message is."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub(str(value))


def _time(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "event": str(getattr(record, "event", DEFAULT_EVENT)),
            "message": scrub(record.getMessage()),
        }
        for key in EVENT_FIELDS:
            if key in record.__dict__:
                line[key] = _clean(record.__dict__[key])
        if record.exc_info:
            line["traceback"] = scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            line["traceback"] = scrub(record.exc_text)
        if record.stack_info:
            line["stack"] = scrub(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False)


def formatter(log_format: str) -> logging.Formatter:
    if log_format not in FORMATS:
        raise ValueError(f"unknown log format {log_format!r} (known: {', '.join(FORMATS)})")
    return JsonFormatter() if log_format == JSON else logging.Formatter(TEXT_FORMAT)


def _log_thread_exception(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    logging.getLogger("pairchive").error(
        "uncaught exception in thread %s: %s",
        name,
        args.exc_value,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),  # type: ignore[arg-type]
        extra=event("uncaught_exception"),
    )


def configure(
    log_format: str, level: int | str = logging.INFO, stream: IO[str] | None = None
) -> logging.Handler:
    """Log to `stream` (stderr) in `log_format` at `level`, replacing any handler the root logger had;
    in JSON mode, warnings and uncaught exceptions of threads are log records too. Returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(log_format))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    if log_format == JSON:
        logging.captureWarnings(True)
        threading.excepthook = _log_thread_exception
    return handler


class JsonRelay(io.TextIOBase):
    """A sink for another process's stderr, written to `stream` line by line: a line that is a JSON object
    (the crawl's own log in JSON mode) as it is, any other (a traceback, a message printed before the log
    was set up) wrapped in one, event `crawl_output`, so that every line of `stream` stays an object."""

    def __init__(self, stream: IO[str], logger: str = "crawl", source: str | None = None) -> None:
        super().__init__()
        self.stream, self.logger, self.source = stream, logger, source
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            if line.strip():
                self.stream.write(self._as_object(line) + "\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def _as_object(self, line: str) -> str:
        try:
            if isinstance(json.loads(line), dict):
                return line
        except ValueError:
            pass
        wrapped: dict[str, Any] = {
            "time": _time(datetime.now(UTC).timestamp()),
            "level": "WARNING",
            "logger": self.logger,
            "event": "crawl_output",
            "message": line,
        }
        if self.source is not None:
            wrapped["source"] = self.source
        return json.dumps(wrapped, ensure_ascii=False)
