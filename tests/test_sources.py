"""The sources file: the documented keys work; every mistake is one line naming file, source and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.errors import SourceConfigError
from crawler.sources import load_sources, parse_sources, select

GOOD = """
[[source]]
name = "huli-edu"
title = "湖里教育网"
start_urls = ["http://host.example/edu/"]
allowed_domains = ["host.example"]
article_pattern = '/edu/\\d{8}/\\w+\\.html$'
listing_pattern = '/edu/index_\\d+\\.html$'
schedule = "0 2 * * *"
timezone = "Asia/Shanghai"
encoding = "gbk"
max_pages = 500
"""


def test_documented_keys_load_as_written() -> None:
    (source,) = parse_sources(GOOD, "sources.toml")
    assert source.name == "huli-edu" and source.title == "湖里教育网"
    assert source.start_urls == ("http://host.example/edu/",)
    assert source.article_re.search("http://host.example/edu/20220616/abc.html")
    assert source.listing_re is not None and source.listing_re.search("http://host.example/edu/index_2.html")
    assert (source.encoding, source.max_pages, source.schedule) == ("gbk", 500, "0 2 * * *")


def test_optional_keys_have_defaults() -> None:
    (source,) = parse_sources(
        '[[source]]\nname = "a"\nstart_urls = ["https://a.example/x/"]\narticle_pattern = "/x/"\n'
    )
    assert source.allowed_domains == ("a.example",)
    assert source.timezone == "Asia/Shanghai" and source.title == "a" and source.listing_re is None


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            ("max_pages = 500", "max_pages = 500\ncolour = 'red'"),
            "source 'huli-edu': key 'colour': unknown key",
        ),
        (
            ("'/edu/\\d{8}/\\w+\\.html$'", "'/edu/(['"),
            "source 'huli-edu': key 'article_pattern': bad regular",
        ),
        (('name = "huli-edu"', 'name = "Huli Edu"'), "key 'name': 'Huli Edu' must match"),
        (('schedule = "0 2 * * *"', 'schedule = "every night"'), "key 'schedule': bad cron expression"),
        (('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"'), "key 'timezone': unknown time zone"),
        (('encoding = "gbk"', 'encoding = "klingon"'), "key 'encoding': unknown encoding"),
        (("max_pages = 500", "max_pages = 0"), "key 'max_pages': must be a positive integer"),
        (('start_urls = ["http://host.example/edu/"]', 'start_urls = ["ftp://x/"]'), "key 'start_urls'"),
        (
            ('allowed_domains = ["host.example"]', 'allowed_domains = ["other.example"]'),
            "key 'allowed_domains'",
        ),
        (('title = "湖里教育网"\n', ""), None),
    ],
)
def test_each_mistake_is_one_line_naming_file_source_and_key(
    edit: tuple[str, str], message: str | None
) -> None:
    text = GOOD.replace(*edit)
    if message is None:
        assert parse_sources(text, "sources.toml")
        return
    with pytest.raises(SourceConfigError) as err:
        parse_sources(text, "sources.toml")
    assert str(err.value).startswith("sources.toml: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_required_key_is_named() -> None:
    with pytest.raises(SourceConfigError, match=r"source 'a': key 'article_pattern': is required"):
        parse_sources('[[source]]\nname = "a"\nstart_urls = ["http://a.example/"]\n', "s.toml")


def test_duplicate_names_are_an_error() -> None:
    with pytest.raises(SourceConfigError, match=r"source 'huli-edu': key 'name': duplicate name"):
        parse_sources(GOOD + GOOD, "sources.toml")


def test_malformed_toml_is_one_line() -> None:
    with pytest.raises(SourceConfigError, match=r"^s.toml: malformed TOML: .*line 1") as err:
        parse_sources("[[source]\nname=", "s.toml")
    assert "\n" not in str(err.value)


def test_missing_file_is_an_error_not_an_empty_registry(tmp_path: Path) -> None:
    with pytest.raises(SourceConfigError, match="sources file not found"):
        load_sources(tmp_path / "nope.toml")


def test_selecting_an_unknown_source_lists_the_known_ones() -> None:
    sources = parse_sources(GOOD)
    with pytest.raises(SourceConfigError, match=r"no source named 'nope' \(known: huli-edu\)"):
        select(sources, ["nope"])


@pytest.mark.parametrize(
    "edit, message",
    [
        (('encoding = "gbk"', 'encoding = "base64"'), "key 'encoding': 'base64' is not a text encoding"),
        (('schedule = "0 2 * * *"', 'schedule = "0 2 1 * 1"'), "not both"),
    ],
)
def test_settings_that_would_misbehave_later_are_refused_now(edit: tuple[str, str], message: str) -> None:
    with pytest.raises(SourceConfigError, match=message):
        parse_sources(GOOD.replace(*edit), "sources.toml")
