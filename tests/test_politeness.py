"""Retry-After values as servers send them, and the bounds on how long the crawler waits for them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scrapy.settings import Settings

from crawler.process.politeness import retry_after_seconds, seconds_setting

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "value, seconds",
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Tue, 24 Nov 2026 12:01:30 GMT", 90.0),
        ("Tue, 24 Nov 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(value: str, seconds: float | None) -> None:
    assert retry_after_seconds(value, now=NOW) == seconds


@pytest.mark.parametrize("value, seconds", [("0", 0.0), (120, 120.0), ("86400", 86400.0), (1.5, 1.5)])
def test_a_retry_after_bound_is_seconds_from_zero_to_a_day(value: object, seconds: float) -> None:
    assert (
        seconds_setting(Settings({"PAIRCHIVE_RETRY_AFTER_MAX": value}), "PAIRCHIVE_RETRY_AFTER_MAX")
        == seconds
    )


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "86401", "abc", "", None])
def test_a_retry_after_bound_that_would_never_end_a_wait_is_refused_by_name(value: object) -> None:
    with pytest.raises(ValueError, match=r"^PAIRCHIVE_RETRY_AFTER_TOTAL must be a number of seconds from 0"):
        seconds_setting(Settings({"PAIRCHIVE_RETRY_AFTER_TOTAL": value}), "PAIRCHIVE_RETRY_AFTER_TOTAL")


def test_the_retry_after_bounds_ship_as_documented() -> None:
    settings = Settings()
    settings.setmodule("crawler.settings")
    assert seconds_setting(settings, "PAIRCHIVE_RETRY_AFTER_MAX") == 120
    assert seconds_setting(settings, "PAIRCHIVE_RETRY_AFTER_TOTAL") == 600
