"""Leases: one crawl per source at a time, across processes, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.archive import start_run, upsert_sources
from storage.db import open_for_writing
from storage.leases import LEASE_SECONDS, Holder, SourceBusy, acquire, attach_run, heartbeat, holders, release

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def _source(db_url: str) -> int:
    sessions = open_for_writing(db_url).sessions
    with sessions.begin() as s:
        return upsert_sources(s, [{"name": "huli-edu", "title": "湖里教育网"}])["huli-edu"]


def _acquire(db_url: str, source_id: int, owner: str, now: datetime) -> Holder | None:
    sessions = open_for_writing(db_url).sessions
    with sessions.begin() as s:
        return acquire(s, source_id, owner, now=now)


def test_a_held_lease_refuses_a_second_crawl_and_names_its_holder(db_url: str) -> None:
    source_id = _source(db_url)
    assert _acquire(db_url, source_id, "schedule@host:1:aaaaaa", T0) is None
    with pytest.raises(SourceBusy) as busy:
        _acquire(db_url, source_id, "cli@host:2:bbbbbb", T0 + timedelta(seconds=LEASE_SECONDS - 1))
    assert str(busy.value).startswith(
        "huli-edu is being crawled by schedule@host:1:aaaaaa since 2026-11-24 02:00:00Z"
    )
    assert "expires at 2026-11-24 02:02:00Z" in str(busy.value)


def test_a_heartbeat_keeps_the_lease_and_a_silent_holder_loses_it(db_url: str) -> None:
    source_id = _source(db_url)
    sessions = open_for_writing(db_url).sessions
    _acquire(db_url, source_id, "a", T0)
    with sessions.begin() as s:
        assert heartbeat(s, source_id, "a", now=T0 + timedelta(seconds=100))
    # renewed at +100 s: still held at +200 s
    with pytest.raises(SourceBusy):
        _acquire(db_url, source_id, "b", T0 + timedelta(seconds=200))
    # no heartbeat since +100 s: at +221 s it has expired and is taken over, the old holder returned
    previous = _acquire(db_url, source_id, "b", T0 + timedelta(seconds=100 + LEASE_SECONDS + 1))
    assert previous is not None and previous.owner == "a" and previous.run_id is None
    with sessions.begin() as s:
        assert not heartbeat(s, source_id, "a", now=T0 + timedelta(seconds=300))  # a has lost it
        assert holders(s)["huli-edu"].owner == "b"


def test_only_the_holder_releases_and_a_released_lease_is_free(db_url: str) -> None:
    source_id = _source(db_url)
    sessions = open_for_writing(db_url).sessions
    _acquire(db_url, source_id, "a", T0)
    with sessions.begin() as s:
        release(s, source_id, "b")
        assert "huli-edu" in holders(s)
        release(s, source_id, "a")
        assert holders(s) == {}
    assert _acquire(db_url, source_id, "b", T0) is None


def test_the_lease_names_the_run_it_is_making(db_url: str) -> None:
    source_id = _source(db_url)
    sessions = open_for_writing(db_url).sessions
    _acquire(db_url, source_id, "a", T0)
    with sessions.begin() as s:
        run_id = start_run(s, source_id, "cli")
        attach_run(s, source_id, "a", run_id)
    with pytest.raises(SourceBusy, match=rf"\(run {run_id}\)"):
        _acquire(db_url, source_id, "b", T0)
