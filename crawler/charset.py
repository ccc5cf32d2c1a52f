"""Which charset a page is really in, from its bytes and what it (and its server) declare.

Chinese portals declare gb2312 and serve GBK or GB18030, declare gb2312 and serve UTF-8, declare two
charsets or none. Declarations are hints; the bytes decide:
  1. a source's `encoding` key, when the operator set one;
  2. UTF-8, when the bytes hold non-ASCII text and are valid UTF-8 (GBK text practically never is);
  3. the first declaration (HTTP header, then <meta> in order) that decodes the bytes without error,
     with gb2312 and gbk read as their superset gb18030;
  4. gb18030, when it decodes the bytes without error; else the first declaration, or UTF-8, with
     undecodable bytes replaced.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# <meta charset="x">, <meta http-equiv="Content-Type" content="text/html; charset=x">, in the head.
META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
XML_DECL_RE = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([a-zA-Z0-9_.:-]+)["'][^>]*\?>""")
HEADER_CHARSET_RE = re.compile(r"charset\s*=\s*[\"']?([a-zA-Z0-9_.:-]+)", re.IGNORECASE)
HEAD_BYTES = 64 * 1024
# Chinese national charsets, each a subset of the next: read them all as the widest.
SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "gb18030": "gb18030", "hz-gb-2312": "gb18030"}


@dataclass(frozen=True)
class Decoded:
    text: str
    charset: str  # the codec used, by its Python name
    reason: str  # which rule chose it, for the run's record


def _codec(name: str) -> str | None:
    """The canonical Python codec name for a declared charset, None for an unknown one."""
    try:
        info = codecs.lookup(name.strip().lower())
    except LookupError:
        return None
    if not info._is_text_encoding:  # base64, rot13...: not a charset, whatever a page declares
        return None
    name = info.name
    return SUPERSETS.get(name, name)


def declared_charsets(body: bytes, content_type: str | None) -> list[str]:
    """Declared charsets: header, XML declaration, then <meta> tags in order, without repeats."""
    found: list[str] = []
    if content_type and (header := HEADER_CHARSET_RE.search(content_type)):
        found.append(header.group(1))
    if xml := XML_DECL_RE.match(body):
        found.append(xml.group(1).decode("ascii", "replace"))
    found.extend(m.group(1).decode("ascii", "replace") for m in META_CHARSET_RE.finditer(body[:HEAD_BYTES]))
    out: list[str] = []
    for name in found:
        codec = _codec(name)
        if codec and codec not in out:
            out.append(codec)
    return out


def _decodes(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except UnicodeDecodeError:
        return None


def decode_page(body: bytes, content_type: str | None = None, override: str | None = None) -> Decoded:
    """The page's text and the charset it was read in (see the module docstring for the rules)."""
    if body.startswith(codecs.BOM_UTF8):
        return Decoded(body[3:].decode("utf-8", "replace"), "utf-8", "byte order mark")
    if override and (codec := _codec(override)):
        return Decoded(body.decode(codec, "replace"), codec, "source encoding setting")
    declared = declared_charsets(body, content_type)
    if not body.isascii() and (text := _decodes(body, "utf-8")) is not None:
        why = "valid UTF-8" + (
            f" (declared {', '.join(declared)})" if declared and declared[0] != "utf-8" else ""
        )
        return Decoded(text, "utf-8", why)
    for codec in declared:
        if (text := _decodes(body, codec)) is not None:
            return Decoded(text, codec, "declared")
    if (text := _decodes(body, "gb18030")) is not None:
        return Decoded(text, "gb18030", "undeclared; decodes as gb18030")
    fallback = declared[0] if declared else "utf-8"
    return Decoded(body.decode(fallback, "replace"), fallback, "no charset decodes cleanly; bytes replaced")
