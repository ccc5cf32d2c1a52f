"""URL identity: two URLs of one page are one page."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Share and campaign parameters that never select content ("from" does, on paging URLs: it stays).
TRACKING_PARAMS = {"spm", "fbclid", "gclid", "share_token", "wfr", "isappinstalled", "scene", "srcid"}
SESSION_ID_RE = re.compile(r";jsessionid=[^?#/]*", re.IGNORECASE)


INDEX_PAGE_RE = re.compile(r"/(?:index|default)\.(?:html?|shtml|php|asp|aspx|jsp)$", re.IGNORECASE)


def canonical_url(url: str, same_hosts: tuple[str, ...] = ()) -> str:
    """Lower-cased scheme and host, no fragment, no tracking parameters, sorted query, no `index.html`
    and no trailing slash.

    `same_hosts` are host names one portal serves the same pages under (`www.`, `m.`, the bare domain):
    each becomes the first of them.
    """
    # w3lib is imported by the crawl that calls this, not by every reader of a sources file (in_domains).
    from w3lib.url import canonicalize_url

    parts = urlsplit(SESSION_ID_RE.sub("", canonicalize_url(url, keep_fragments=False)))
    # Query values are bytes in whatever charset the portal uses (GBK, often): latin-1 carries them through
    # unchanged, where UTF-8 decoding would turn different values into the same replacement characters.
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True, encoding="latin-1")
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
    ]
    netloc = parts.netloc.lower()
    if same_hosts and (parts.hostname or "").lower() in same_hosts[1:]:
        netloc = same_hosts[0] + (f":{parts.port}" if parts.port else "")
    for default in (":80", ":443"):
        if netloc.endswith(default) and parts.scheme == {":80": "http", ":443": "https"}[default]:
            netloc = netloc[: -len(default)]
    # A directory's index page and the directory are one page; so are a path with and without its
    # trailing slash.
    path = INDEX_PAGE_RE.sub("/", parts.path or "/")
    if len(path) > 1:
        path = path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), netloc, path, urlencode(query, encoding="latin-1"), ""))


def in_domains(url: str, domains: tuple[str, ...] | list[str]) -> bool:
    """Whether the URL's host is one of `domains` or below one (ports do not matter)."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d.lower() or host.endswith("." + d.lower()) for d in domains)
