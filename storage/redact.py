"""What people are shown of a database URL: never its password.

A URL is shown through `display_url`; any other text that may carry one (a driver's error, a crawl's log
line, a run record's error) goes through `scrub` before it reaches a terminal, a log or the database.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

HIDDEN = "***"

# scheme://user:password@host: the password runs to the last "@" before the host part.
_URL_PASSWORD_RE = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^\s/]*@")
# user:password@host with no scheme before it, as an error may name a URL's authority alone
# ("invalid hostname: user:secret@127.0.0.1"): a whole word, the password free of spaces, "/" and "@".
_USERINFO_RE = re.compile(r"(?P<head>(?<![^\s'\"(\[<=,;])[^\s:/@'\"]+:)[^\s/@'\"]+@(?=[\w\[])")
# libpq's key=value form (password=... or password='...'), which psycopg may echo back.
_DSN_PASSWORD_RE = re.compile(r"(?P<head>\bpassword\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^\s'\"]+)", re.IGNORECASE)


def scrub(text: str) -> str:
    """`text` with every password of a URL or connection string in it replaced by ***."""
    text = _URL_PASSWORD_RE.sub(rf"\g<head>{HIDDEN}@", text)
    text = _USERINFO_RE.sub(rf"\g<head>{HIDDEN}@", text)
    return _DSN_PASSWORD_RE.sub(rf"\g<head>{HIDDEN}", text)


def display_url(url: str | URL) -> str:
    """A database URL as people see it: the password hidden, even in a URL that does not parse."""
    # Imported here: `scrub` is all that most importers of this module need, and SQLAlchemy is slow to load.
    from sqlalchemy.engine import URL, make_url
    from sqlalchemy.exc import ArgumentError

    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return scrub(url)


class ScrubFilter(logging.Filter):
    """Scrubs each log record's message, for handlers that may be handed a driver's error text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def scrub_logging() -> None:
    """Put a ScrubFilter on every handler of the root logger (call after configuring logging)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, ScrubFilter) for f in handler.filters):
            handler.addFilter(ScrubFilter())
