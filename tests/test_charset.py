"""Charsets as Chinese portals really serve them: the bytes decide, declarations are hints."""

from __future__ import annotations

import pytest

from crawler.vocabulary.charset import charset_codec, declared_charsets, decode_page

STORY = "湖里区16所学校与闽宁镇16所学校结对共建，喆、堃、珺三位教师赴临夏支教。"


def _page(meta: str | None, text: str = STORY) -> str:
    head = f'<meta http-equiv="Content-Type" content="text/html; charset={meta}">' if meta else ""
    return f"<html><head>{head}<title>t</title></head><body><p>{text}</p></body></html>"


@pytest.mark.parametrize(
    "case, body, header, charset",
    [
        ("declaration matches bytes", _page("utf-8").encode("utf-8"), "text/html; charset=utf-8", "utf-8"),
        ("declares gb2312, bytes are GBK", _page("gb2312").encode("gbk"), None, "gb18030"),
        (
            "declares gb2312, bytes are UTF-8",
            _page("gb2312").encode("utf-8"),
            "text/html; charset=gb2312",
            "utf-8",
        ),
        ("two declarations, bytes UTF-8", _page("gbk").encode("utf-8"), "text/html; charset=utf-8", "utf-8"),
        ("two declarations, bytes GBK", _page("utf-8").encode("gbk"), "text/html; charset=gb2312", "gb18030"),
        ("no declaration, bytes GBK", _page(None).encode("gbk"), "text/html", "gb18030"),
        ("no declaration, bytes UTF-8", _page(None).encode("utf-8"), None, "utf-8"),
        ("declares gbk, bytes need GB18030", _page("gbk", STORY + "𠮷").encode("gb18030"), None, "gb18030"),
        ("declares big5, bytes are Big5", _page("big5", "兩校結對").encode("big5"), None, "big5"),
    ],
    ids=lambda v: v if isinstance(v, str) and " " in v else "",
)
def test_each_charset_case_decodes_without_mojibake(
    case: str, body: bytes, header: str | None, charset: str
) -> None:
    decoded = decode_page(body, header)
    assert decoded.charset == charset
    assert "\ufffd" not in decoded.text
    assert ("兩校結對" if "big5" in case else STORY) in decoded.text


def test_a_source_encoding_overrides_detection() -> None:
    body = _page("utf-8").encode("gbk")
    decoded = decode_page(body, "text/html; charset=utf-8", override="gbk")
    assert (decoded.charset, decoded.reason) == ("gb18030", "source encoding setting")
    assert STORY in decoded.text


def test_bytes_no_charset_decodes_are_replaced_not_dropped() -> None:
    body = _page("utf-8").encode("utf-8")[:-20] + b"\x81\x30\xff\xfe" + b"</p></body></html>"
    decoded = decode_page(body, None)
    assert "\ufffd" in decoded.text and decoded.reason.startswith("no charset decodes")
    assert "结对共建" in decoded.text


def test_declarations_are_read_header_first_without_repeats() -> None:
    body = b'<meta charset="GBK"><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
    assert declared_charsets(body, "text/html; charset=gb2312") == ["gb18030", "utf-8"]


def test_a_utf8_byte_order_mark_wins() -> None:
    decoded = decode_page(b"\xef\xbb\xbf" + _page("gbk").encode("utf-8"), "text/html; charset=gbk")
    assert decoded.charset == "utf-8" and STORY in decoded.text


def test_a_declared_non_text_codec_is_ignored() -> None:
    decoded = decode_page(b'<meta charset="base64">' + _page(None).encode("gbk"), None)
    assert decoded.charset == "gb18030" and STORY in decoded.text


@pytest.mark.parametrize(
    "name", ["base64", "rot13", "zlib", "hex", "undefined", "idna", "punycode", "utf-7", "no-such"]
)
def test_a_codec_that_is_no_charset_names_no_charset(name: str) -> None:
    from crawler.vocabulary.charset import charset_codec

    assert charset_codec(name) is None


def test_charset_names_resolve_to_their_codec_with_gb_names_read_as_gb18030() -> None:
    from crawler.vocabulary.charset import charset_codec

    assert [charset_codec(n) for n in ("GB2312", "gbk", "Big5", "UTF8", "latin1")] == [
        "gb18030",
        "gb18030",
        "big5",
        "utf-8",
        "iso8859-1",
    ]


@pytest.mark.parametrize("override", ["undefined", "idna", "base64"])
def test_a_source_encoding_that_is_no_charset_is_ignored_not_raised(override: str) -> None:
    decoded = decode_page(_page("gb2312").encode("gbk"), None, override=override)
    assert decoded.charset == "gb18030" and STORY in decoded.text


def test_a_declaration_inside_the_bytes_of_a_charset_not_ascii_compatible_is_ignored() -> None:
    decoded = decode_page(_page("utf-16").encode("gbk"), None)
    assert decoded.charset == "gb18030" and STORY in decoded.text


def test_a_utf16_byte_order_mark_wins() -> None:
    decoded = decode_page(_page(None).encode("utf-16"), "text/html; charset=gbk")
    assert (decoded.charset, decoded.reason) == ("utf-16", "byte order mark")
    assert STORY in decoded.text


def test_scrapy_responses_declaring_a_real_charset_pass_untouched() -> None:
    from scrapy.http import HtmlResponse

    from crawler.process.charset import ScrapyCharset

    response = HtmlResponse("http://a.example/", body=_page("gbk").encode("gbk"))
    assert ScrapyCharset().process_response(None, response) is response


def test_scrapy_responses_declaring_no_charset_get_the_one_the_bytes_decide() -> None:
    from scrapy.http import HtmlResponse

    from crawler.process.charset import ScrapyCharset

    body = _page("base64").encode("gbk")
    fixed = ScrapyCharset().process_response(None, HtmlResponse("http://a.example/", body=body))
    assert isinstance(fixed, HtmlResponse) and fixed.encoding == "gb18030" and STORY in fixed.text


@pytest.mark.parametrize("codec", ["utf-32", "utf-32-le", "utf-32-be", "utf-16", "utf-8"])
def test_a_unicode_encoding_of_any_unit_width_is_a_charset(codec: str) -> None:
    assert charset_codec(codec) is not None


@pytest.mark.parametrize("bom_codec", ["utf-32", "utf-16"])
def test_a_page_with_a_utf32_or_utf16_byte_order_mark_is_read_in_it(bom_codec: str) -> None:
    page = "<html><body><p>两地学校结对帮扶</p></body></html>"
    decoded = decode_page(page.encode(bom_codec))  # Python writes the platform's mark first
    assert (decoded.text, decoded.charset, decoded.reason) == (page, bom_codec, "byte order mark")
