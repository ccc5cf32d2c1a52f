"""Class 6: feed and sitemap bombs. Feeds and sitemaps that declare XML entities (a "billion laughs"
expansion, an external entity naming a local file), and sitemaps whose gzip unpacks without bound (as a
.xml.gz file, or as the answer's Content-Encoding). Each must be refused with its reason, within bounded
memory and time, and recorded in the run, never read as an empty file."""

from __future__ import annotations

import contextlib
import zlib
from functools import cache

from tests.hostile import Case, HostileHandler

KLASS = 6
UNPACKED = 256 * 1024 * 1024  # what each gzip bomb unpacks to: five times the 50 MB cap


def _laughs(root: str, inner: str) -> bytes:
    """A document whose ten nested entities expand to a billion `lol`s, referenced where a link goes."""
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    return f'<?xml version="1.0"?><!DOCTYPE {root} [{entities}]>{inner}'.encode()


def _billion_laughs_feed(handler: HostileHandler) -> None:
    body = _laughs(
        "rss",
        '<rss version="2.0"><channel><title>t</title><item><title>&lol9;</title>'
        f"<link>http://{handler.headers['Host']}/c06/a/&lol9;.html</link></item></channel></rss>",
    )
    handler.send_body(body, "application/rss+xml")


def _external_entity_sitemap(handler: HostileHandler) -> None:
    body = (
        '<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY home SYSTEM "file:///etc/passwd">]>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>http://{handler.headers['Host']}/c06/a/&home;.html</loc></url></urlset>"
    ).encode()
    handler.send_body(body, "application/xml")


@cache
def gzip_bomb() -> bytes:
    """A gzip stream of a sitemap's opening and UNPACKED bytes of spaces (about 1 MB compressed)."""
    pack = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    spaces = b" " * (1 << 20)
    head = pack.compress(b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">')
    return b"".join([head, *(pack.compress(spaces) for _ in range(UNPACKED >> 20)), pack.flush()])


def _gzip_file(handler: HostileHandler) -> None:
    handler.send_body(gzip_bomb(), "application/x-gzip")


def _gzip_encoding(handler: HostileHandler) -> None:
    body = gzip_bomb()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/xml")
    handler.send_header("Content-Encoding", "gzip")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        handler.wfile.write(body)


CASES = [
    Case(
        KLASS,
        "bomb-billion-laughs-feed",
        "an RSS feed of ten nested entities (a billion lols)",
        {"laughs.xml": _billion_laughs_feed},
    ),
    Case(
        KLASS,
        "bomb-external-entity-sitemap",
        "a sitemap whose entity names a local file",
        {"xxe.xml": _external_entity_sitemap},
    ),
    Case(KLASS, "bomb-gzip-file", "a .xml.gz sitemap that unpacks to 256 MB", {"bomb.xml.gz": _gzip_file}),
    Case(
        KLASS,
        "bomb-gzip-content-encoding",
        "a sitemap sent with Content-Encoding gzip that unpacks to 256 MB",
        {"encoded.xml": _gzip_encoding},
    ),
]

# Each entry point and the reason its refusal is recorded with.
REFUSED = {
    "laughs.xml": ("feeds", "xml_entities"),
    "xxe.xml": ("sitemaps", "xml_entities"),
    "bomb.xml.gz": ("sitemaps", "too_large"),
    "encoded.xml": ("sitemaps", "too_large"),
}
