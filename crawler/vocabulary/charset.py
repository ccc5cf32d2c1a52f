"""Which charset a page is really in, from its bytes and what it (and its server) declare.

Chinese portals declare gb2312 and serve GBK or GB18030, declare gb2312 and serve UTF-8, declare two
charsets or none. Declarations are hints; the bytes decide, the same way for pages, feeds and sitemaps:
  0. a byte order mark (UTF-8, UTF-16, UTF-32): the strongest signal, as in the WHATWG encoding standard,
     which lets a BOM override even the transport's label;
  1. a source's `encoding` key, when the operator set one;
  2. UTF-8, when the bytes hold non-ASCII text and are valid UTF-8 (GBK text practically never is);
  3. the first declaration (HTTP header, then <meta> in order) that decodes the bytes without error,
     with gb2312 and gbk read as their superset gb18030;
  4. gb18030, when it decodes the bytes without error; else the first declaration, or UTF-8, with
     undecodable bytes replaced.
A declaration that names no charset is a wrong declaration, ignored like one: an unknown name, a codec
that is not for text (base64, rot13, zlib...), one that decodes nothing or is no document's charset
(undefined, idna, punycode, unicode_escape, utf-7), and, inside the bytes (<meta>, the XML declaration),
one that is not ASCII-compatible (utf-16, utf-32, EBCDIC: the declaration itself was read as ASCII).
`crawler.process.charset.ScrapyCharset` makes Scrapy's own reading of a response (meta refresh, selectors) follow the same rule.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from functools import lru_cache

# <meta charset="x">, <meta http-equiv="Content-Type" content="text/html; charset=x">, in the head.
META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
XML_DECL_RE = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([a-zA-Z0-9_.:-]+)["'][^>]*\?>""")
HEADER_CHARSET_RE = re.compile(r"charset\s*=\s*[\"']?([a-zA-Z0-9_.:-]+)", re.IGNORECASE)
HEAD_BYTES = 64 * 1024
# Chinese national charsets, each a subset of the next: read them all as the widest.
SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "gb18030": "gb18030", "hz-gb-2312": "gb18030"}
# Text codecs (by Python name) that are no document's charset: host-name and escape encodings, a codec
# that refuses every byte, and UTF-7 (which the HTML standard forbids: it hides markup in plain letters).
NOT_CHARSETS = frozenset({"undefined", "idna", "punycode", "unicode-escape", "raw-unicode-escape", "utf-7"})
# What a declaration inside the bytes is written in: a charset it names must read this as itself.
ASCII_PROBE = b"<?xml version='1.0' encoding=\"x\"?><meta charset=x>"
# UTF-32's marks first: UTF-32LE's begins with UTF-16LE's.
BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class Decoded:
    text: str
    charset: str  # the codec used, by its Python name
    reason: str  # which rule chose it, for the run's record


@lru_cache(maxsize=256)
def charset_codec(name: str) -> str | None:
    """The Python codec a charset name stands for (gb2312 and gbk as gb18030), or None when the name
    is no charset: unknown, a codec that is not for text, or one of NOT_CHARSETS."""
    try:
        info = codecs.lookup(name.strip().lower())
    except (LookupError, ValueError):  # ValueError: a name with a NUL byte
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in NOT_CHARSETS:
        return None  # base64, rot13, zlib...: not a charset, whatever a page declares
    try:
        # a text written in it reads back (UTF-32 included, whose units are four bytes)
        if "<html>".encode(info.name).decode(info.name) != "<html>":
            return None
    except (UnicodeError, LookupError, TypeError, ValueError):
        return None  # a codec that writes or reads no text at all
    return SUPERSETS.get(info.name, info.name)


@lru_cache(maxsize=256)
def ascii_compatible(codec: str) -> bool:
    try:
        return ASCII_PROBE.decode(codec) == ASCII_PROBE.decode("ascii")
    except (UnicodeError, LookupError, ValueError):
        return False


def _codec(name: str, in_bytes: bool = False) -> str | None:
    """The codec of a declared charset; one declared inside the bytes must be ASCII-compatible."""
    codec = charset_codec(name)
    if codec is not None and in_bytes and not ascii_compatible(codec):
        return None
    return codec


def declared_charsets(body: bytes, content_type: str | None) -> list[str]:
    """Declared charsets: header, XML declaration, then <meta> tags in order, without repeats."""
    found: list[tuple[str, bool]] = []  # (name, declared inside the bytes)
    if content_type and (header := HEADER_CHARSET_RE.search(content_type)):
        found.append((header.group(1), False))
    if xml := XML_DECL_RE.match(body):
        found.append((xml.group(1).decode("ascii", "replace"), True))
    found.extend(
        (m.group(1).decode("ascii", "replace"), True) for m in META_CHARSET_RE.finditer(body[:HEAD_BYTES])
    )
    out: list[str] = []
    for name, in_bytes in found:
        codec = _codec(name, in_bytes)
        if codec and codec not in out:
            out.append(codec)
    return out


def _decodes(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except UnicodeError:  # UnicodeDecodeError, or a codec's own refusal (idna's)
        return None


def decode_page(body: bytes, content_type: str | None = None, override: str | None = None) -> Decoded:
    """The page's text and the charset it was read in (see the module docstring for the rules)."""
    for bom, bom_codec in BOMS:
        if body.startswith(bom):
            return Decoded(
                body.decode("utf-8-sig" if bom_codec == "utf-8" else bom_codec, "replace"),
                bom_codec,
                "byte order mark",
            )
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
