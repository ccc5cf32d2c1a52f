"""The sources file: the documented keys work; every mistake is one line naming file, source and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler.vocabulary.errors import SourceConfigError
from crawler.vocabulary.sources import load_sources, parse_sources, select, source_from_dict, url_pattern
from tests.crawls import pairchive

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
        (
            ('encoding = "gbk"', 'encoding = "undefined"'),
            "key 'encoding': 'undefined' is not a text encoding",
        ),
        (('encoding = "gbk"', 'encoding = "idna"'), "key 'encoding': 'idna' is not a text encoding"),
        (('encoding = "gbk"', 'encoding = "utf-7"'), "key 'encoding': 'utf-7' is not a text encoding"),
        (('schedule = "0 2 * * *"', 'schedule = "0 2 1 * 1"'), "not both"),
    ],
)
def test_settings_that_would_misbehave_later_are_refused_now(edit: tuple[str, str], message: str) -> None:
    with pytest.raises(SourceConfigError, match=message):
        parse_sources(GOOD.replace(*edit), "sources.toml")


ENTRY = '[[source]]\nname = "a"\narticle_pattern = "/x/"\n'
FEED = '"http://a.example/feed.xml"'
SITEMAP = '"http://a.example/sitemap.xml"'


@pytest.mark.parametrize(
    "keys, start_urls, feeds, sitemaps",
    [
        (f"start_urls = []\nfeeds = [{FEED}]\n", (), (FEED.strip('"'),), ()),
        (f"start_urls = []\nsitemaps = [{SITEMAP}]\n", (), (), (SITEMAP.strip('"'),)),
        (f"feeds = []\nsitemaps = []\nstart_urls = [{FEED}]\n", (FEED.strip('"'),), (), ()),
    ],
)
def test_an_empty_list_of_one_kind_of_entry_point_is_none_of_that_kind_beside_another_kind(
    keys: str, start_urls: tuple[str, ...], feeds: tuple[str, ...], sitemaps: tuple[str, ...]
) -> None:
    (source,) = parse_sources(ENTRY + keys, "sources.toml")
    assert (source.start_urls, source.feeds, source.sitemaps) == (start_urls, feeds, sitemaps)
    assert source.allowed_domains == ("a.example",)
    # what a crawl subprocess is given loads to the same source
    assert source_from_dict(source.to_dict()) == source


@pytest.mark.parametrize(
    "keys, key",
    [
        ("start_urls = []\n", "start_urls"),
        ("feeds = []\nsitemaps = []\n", "feeds"),
        ("sitemaps = []\n", "sitemaps"),
    ],
)
def test_a_source_whose_entry_point_lists_are_all_empty_is_refused_naming_the_empty_key(
    keys: str, key: str
) -> None:
    with pytest.raises(SourceConfigError) as err:
        parse_sources(ENTRY + keys, "sources.toml")
    assert str(err.value).startswith(f"sources.toml: source 'a': key '{key}': is empty")
    assert "start_urls, feeds, sitemaps" in str(err.value) and "\n" not in str(err.value)


def test_a_source_without_any_entry_point_key_is_refused_naming_start_urls() -> None:
    with pytest.raises(SourceConfigError, match=r"source 'a': key 'start_urls': is required \(or feeds"):
        parse_sources(ENTRY, "sources.toml")


@pytest.mark.parametrize("value", ['[""]', '"http://a.example/"', "[1]"])
def test_an_entry_point_list_still_holds_only_urls(value: str) -> None:
    with pytest.raises(SourceConfigError, match=r"key 'feeds': must be a list of non-empty strings"):
        parse_sources(ENTRY + f'start_urls = ["http://a.example/"]\nfeeds = {value}\n', "sources.toml")


def test_an_empty_same_hosts_list_is_no_other_host() -> None:
    (source,) = parse_sources(ENTRY + 'start_urls = ["http://a.example/"]\nsame_hosts = []\n')
    assert source.same_hosts == () and source.allowed_domains == ("a.example",)


def test_nested_quantifiers_on_a_long_url_are_matched_in_linear_time() -> None:
    (source,) = parse_sources(
        '[[source]]\nname = "a"\nstart_urls = ["http://a.example/"]\n'
        "article_pattern = '(a+)+$'\nlisting_pattern = '(x|x)*y'\n"
    )
    # Python's re backtracks for longer than the universe has existed on these, and holds the GIL meanwhile.
    assert source.article_re.search("http://a.example/" + "a" * 50_000 + "!") is None
    assert (
        source.listing_re is not None and source.listing_re.search("http://a.example/" + "x" * 50_000) is None
    )
    assert source.article_re.search("http://a.example/aaa")


@pytest.mark.parametrize(
    "pattern, what",
    [
        ("/(\\d+)/\\1\\.html", "backreference"),
        ("^(?!.*index).*\\.html$", "lookahead"),
        ("(?<=/edu/)\\d+", "lookbehind"),
        ("(?>a+)b", "atomic group"),
        ("a++b", "possessive quantifier"),
        ("/x{1001}/", "a repetition over 1000"),
    ],
)
def test_a_pattern_re2_cannot_match_is_refused_when_the_file_loads(pattern: str, what: str) -> None:
    for key in ("article_pattern", "listing_pattern"):
        text = GOOD.replace(f"{key} = ", f"{key} = '{pattern}'\n#", 1)
        with pytest.raises(SourceConfigError) as err:
            parse_sources(text, "sources.toml")
        message = str(err.value)
        assert message.startswith(f"sources.toml: source 'huli-edu': key '{key}': "), what
        assert "is not a pattern RE2 can match" in message and "linear" in message and "\n" not in message


def test_an_unparsable_pattern_is_still_a_bad_regular_expression() -> None:
    with pytest.raises(SourceConfigError, match=r"key 'listing_pattern': bad regular expression '\[a'"):
        parse_sources(GOOD.replace("listing_pattern = ", "listing_pattern = '[a'\n#", 1), "sources.toml")


def test_patterns_keep_the_syntax_both_engines_share() -> None:
    (source,) = parse_sources(
        '[[source]]\nname = "a"\nstart_urls = ["http://a.example/"]\n'
        "article_pattern = '(?i)/(?P<year>\\d{4})/(?:[a-z0-9-]+)\\.s?html?$'\n"
    )
    assert source.article_re.search("http://a.example/2024/Story-1.HTM")
    assert not source.article_re.search("http://a.example/24/story.html")


def test_a_repetition_from_none_matches_as_in_python_not_as_literal_text() -> None:
    (source,) = parse_sources(
        GOOD.replace("article_pattern = ", "article_pattern = '/a/\\d{,3}\\.html$'\n#", 1)
    )
    assert source.article_re.search("http://x/a/12.html")
    assert source.article_re.search("http://x/a/.html")
    assert not source.article_re.search("http://x/a/1{,3}.html")
    assert not source.article_re.search("http://x/a/1234.html")


@pytest.mark.parametrize(
    "pattern, matching, other",
    [
        ("/a/x{,}\\.html$", "/a/xxxx.html", "/a/x{,}.html"),
        ("\\.html\\Z", "/a/1.html", "/a/1.html\n"),
        ("/[\\u4e00-\\u9fff]{2}/", "/结对/", "/ab/"),
        ("/\\U00007ed3\\N{CJK UNIFIED IDEOGRAPH-5BF9}/", "/结对/", "/ab/"),
        ("/\\结对/", "/结对/", "/ab/"),
        ("/[{,3}]/", "/{/", "/a/"),
        ("/\\{,3}/", "/{,3}/", "/a/"),
    ],
)
def test_python_syntax_re2_spells_otherwise_matches_what_python_matches(
    pattern: str, matching: str, other: str
) -> None:
    compiled = url_pattern(pattern)
    for url in (matching, other):
        assert bool(compiled.search(url)) == bool(re.search(pattern, url)), (pattern, url)
    assert compiled.search(matching) and not compiled.search(other)


def test_a_pattern_re2_refuses_is_one_line_from_the_cli_and_nothing_from_re2_itself(tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[[source]]\nname = "a"\nstart_urls = ["http://a.example/"]\narticle_pattern = "^(?!.*index).*[.]html$"\n',
        encoding="utf-8",
    )
    result = pairchive("sources", "list", "--sources", str(sources))
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()  # RE2 logs its own parse errors to stderr unless told not to
    assert line.startswith(f"Error: {sources}: source 'a': key 'article_pattern': ")
    assert "is not a pattern RE2 can match (invalid perl operator: (?!)" in line


@pytest.mark.parametrize("key", ["start_urls", "feeds", "sitemaps"])
@pytest.mark.parametrize("userinfo", ["editor:s3cret@", "editor@", ":s3cret@"])
def test_an_entry_point_with_a_user_name_or_password_is_refused_without_showing_the_password(
    key: str, userinfo: str
) -> None:
    text = f'[[source]]\nname = "a"\n{key} = ["http://{userinfo}127.0.0.1:9/list.html"]\n'
    with pytest.raises(SourceConfigError) as refused:
        parse_sources(text)
    message = str(refused.value)
    assert f"key '{key}'" in message and "user name or password" in message
    assert "s3cret" not in message
