"""The charset rules of `crawler.vocabulary.charset` as a Scrapy downloader middleware."""

from __future__ import annotations

from typing import Any

from scrapy.http import Response, TextResponse

from crawler.vocabulary.charset import ascii_compatible, charset_codec, decode_page


class ScrapyCharset:
    """A downloader middleware: a response whose declared charset is no charset, or not an
    ASCII-compatible one (see the module docstring), is given the charset these rules decide, so that Scrapy's own reading of it (the meta
    refresh middleware, selectors) decodes it instead of raising. Other responses pass untouched."""

    def process_response(self, request: Any, response: Response, spider: Any = None) -> Response:
        if not isinstance(response, TextResponse):
            return response
        declared = response._declared_encoding()  # header, then the body's declaration; no decoding
        codec = charset_codec(declared) if declared else "utf-8"
        if codec is not None and ascii_compatible(codec):
            return response
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        return response.replace(encoding=decode_page(response.body, content_type).charset)
