"""The daemon under a service manager: systemd's notify protocol, received by a Unix datagram socket the
test binds (a path in tmp_path, or an abstract name), from real daemon processes."""

from __future__ import annotations

import logging
import os
import queue
import re
import signal
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

import scheduler
from crawler.runner.sdnotify import Notifier
from crawler.sampleweb import SampleWeb
from crawler.vocabulary.config import AppConfig
from tests.crawls import LOOPBACK, WAIT, run_rows, slow_sources, started
from tests.test_daemon import one_source

WATCHDOG_USEC = "300000"  # a short watchdog: WATCHDOG=1 every 0.15 s
NEXT = r"; next run [\w-]+ at \d{4}-\d\d-\d\d \d\d:\d\dZ"  # the status's end: the next cron run


class NotifySocket:
    """A Unix datagram socket standing in for systemd's: every message it receives, kept in order, and
    waited for with a deadline."""

    def __init__(self, address: str) -> None:
        self.address = address  # as NOTIFY_SOCKET names it
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(b"\0" + address[1:].encode() if address.startswith("@") else address)
        self.sock.settimeout(0.2)  # how often the reader looks whether the test is over
        self.messages: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.closed = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while not self.closed.is_set():
            try:
                self.messages.put(self.sock.recv(65536).decode())
            except TimeoutError:
                continue
            except OSError:
                return

    def wait_for(self, pattern: str) -> str:
        """The next message matching `pattern` (regex, multi-line); the ones before it are kept in `seen`."""
        while True:
            try:
                message = self.messages.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"no message matching {pattern!r}; got: {self.seen}") from None
            self.seen.append(message)
            if re.search(pattern, message, re.M):
                return message

    def close(self) -> None:
        self.closed.set()
        self.reader.join(WAIT)
        self.sock.close()


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    sock = NotifySocket(str(tmp_path / "notify.sock"))
    yield sock
    sock.close()


@pytest.fixture
def abstract_notify_socket() -> Iterator[NotifySocket]:
    sock = NotifySocket(f"@pairchive-test-{uuid.uuid4().hex}")
    yield sock
    sock.close()


# --- the protocol ---------------------------------------------------------------------------------------


def test_a_notifier_sends_each_message_as_one_datagram_of_key_value_lines(
    notify_socket: NotifySocket,
) -> None:
    notifier = Notifier(notify_socket.address)
    try:
        notifier.ready("2 sources, 0 crawling")
        notifier.reloading()
        notifier.status("2 sources,\n1 crawling: a")  # a newline would end the field
        notifier.status("2 sources,\n1 crawling: a")  # unchanged: not sent again
        notifier.watchdog()
        notifier.stopping("stopping")
    finally:
        notifier.close()
    assert notify_socket.wait_for("^READY=1$") == "READY=1\nSTATUS=2 sources, 0 crawling"
    assert re.fullmatch(r"RELOADING=1\nMONOTONIC_USEC=\d+", notify_socket.wait_for("^RELOADING=1$"))
    assert notify_socket.wait_for("^STATUS=") == "STATUS=2 sources, 1 crawling: a"
    assert notify_socket.wait_for("^WATCHDOG=1$") == "WATCHDOG=1"
    assert notify_socket.wait_for("^STOPPING=1$") == "STOPPING=1\nSTATUS=stopping"


def test_an_abstract_socket_address_is_written_with_a_leading_at_sign(
    abstract_notify_socket: NotifySocket,
) -> None:
    notifier = Notifier(abstract_notify_socket.address)
    try:
        assert notifier.send("READY=1")
    finally:
        notifier.close()
    assert abstract_notify_socket.wait_for("READY=1") == "READY=1"


def test_systemds_variables_are_taken_out_of_the_environment_so_the_crawls_do_not_see_them() -> None:
    env = {"NOTIFY_SOCKET": "/run/x.sock", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
    notifier = Notifier.from_env(env)
    assert env == {}
    assert notifier.enabled and notifier.watchdog_interval == 15.0


def test_a_watchdog_meant_for_another_process_or_without_a_socket_is_not_ours() -> None:
    other = Notifier.from_env({"NOTIFY_SOCKET": "/run/x.sock", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"})
    assert other.enabled and other.watchdog_interval is None
    alone = Notifier.from_env({"WATCHDOG_USEC": "1000"})
    assert not alone.enabled and alone.watchdog_interval is None


def test_without_notify_socket_nothing_is_sent_and_nothing_fails(caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier.from_env({})
    with caplog.at_level(logging.DEBUG):
        assert not notifier.send("READY=1")
        notifier.ready("x")
        notifier.reloading()
        notifier.watchdog()
        notifier.stopping()
        notifier.close()
    assert caplog.records == []


def test_a_socket_that_does_not_exist_is_one_warning_however_often_the_daemon_sends(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier(str(tmp_path / "gone.sock"))
    with caplog.at_level(logging.DEBUG, logger="crawler.runner.sdnotify"):
        assert not notifier.send("READY=1")
        for _ in range(5):
            notifier.watchdog()
    notifier.close()
    (warning,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.getMessage().startswith(f"cannot notify the service manager at {tmp_path / 'gone.sock'}: ")
    assert "No such file or directory" in warning.getMessage()


def test_the_watchdog_beats_only_while_the_scheduler_runs(
    sample_web: SampleWeb, tmp_path: Path, notify_socket: NotifySocket
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(one_source(sample_web, "linxia-news"), encoding="utf-8")
    cfg = AppConfig(db_url=f"sqlite:///{tmp_path / 'a.db'}", sources_path=str(sources))
    notifier = Notifier(notify_socket.address, watchdog_seconds=60)
    daemon = scheduler.Daemon(cfg, scheduler=BackgroundScheduler(timezone="UTC"), notifier=notifier)
    assert daemon.load()

    def one_look() -> str:
        """The first message of the daemon's main loop, which is then asked to stop."""
        watching = threading.Thread(target=daemon.watch)
        watching.start()
        first = notify_socket.wait_for(".")
        daemon.stop_requested = True
        daemon.wake.put(None)
        watching.join(WAIT)
        daemon.stop_requested = False
        notifier._status = None  # the next loop says its status again
        return first

    assert not daemon.healthy()
    assert one_look().startswith("STATUS=1 source, 0 crawling")  # no beat: the scheduler is not running
    daemon.start()
    try:
        assert daemon.healthy()
        assert one_look() == "WATCHDOG=1"
    finally:
        daemon.stop()
    assert not daemon.healthy()
    notifier.close()


# --- a real daemon --------------------------------------------------------------------------------------


def test_the_daemon_says_it_is_ready_beats_its_watchdog_and_says_it_is_stopping(
    sample_web: SampleWeb, tmp_path: Path, notify_socket: NotifySocket, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(one_source(sample_web, "linxia-news"), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'a.db'}"
    monkeypatch.setenv("NOTIFY_SOCKET", notify_socket.address)
    monkeypatch.setenv("WATCHDOG_USEC", WATCHDOG_USEC)
    with started("daemon", "--sources", str(sources), "--db", db, "--now", *LOOPBACK) as (proc, err):
        ready = notify_socket.wait_for("^READY=1$")
        assert re.fullmatch(rf"READY=1\nSTATUS=1 source, [01] crawling(: linxia-news)?{NEXT}", ready)
        assert notify_socket.seen == [ready]  # nothing before it: the schedule and database are up first
        for _ in range(3):
            notify_socket.wait_for("^WATCHDOG=1$")
        err.wait_for(r"run \d+ of linxia-news: ok ")
        notify_socket.wait_for(rf"^STATUS=1 source, 0 crawling{NEXT}$")
        proc.send_signal(signal.SIGTERM)
        stopping = notify_socket.wait_for("^STOPPING=1$")
        assert proc.wait(timeout=WAIT) == 0
    assert re.fullmatch(rf"STOPPING=1\nSTATUS=stopping: 1 source, 0 crawling{NEXT}", stopping)
    # the main loop ended at the signal: no beat after it, the watchdog is systemd's no longer
    after = notify_socket.seen[notify_socket.seen.index(stopping) :]
    assert "WATCHDOG=1" not in after
    ((_, trigger, status, _),) = run_rows(db)
    assert (trigger, status) == ("schedule", "ok")


def test_the_status_names_the_crawls_running_and_a_reload_is_reloading_then_ready(
    slow_portal: tuple[str, threading.Event, threading.Event],
    tmp_path: Path,
    abstract_notify_socket: NotifySocket,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base, asked, release = slow_portal
    sources = slow_sources(tmp_path, base)
    monkeypatch.setenv("NOTIFY_SOCKET", abstract_notify_socket.address)
    monkeypatch.setenv("WATCHDOG_USEC", WATCHDOG_USEC)
    db = f"sqlite:///{tmp_path / 'a.db'}"
    with started("daemon", "--sources", str(sources), "--db", db, "--now", *LOOPBACK) as (proc, err):
        abstract_notify_socket.wait_for("^READY=1$")
        assert asked.wait(WAIT)  # the crawl is held in the middle of a page
        abstract_notify_socket.wait_for(rf"^STATUS=1 source, 1 crawling: slow{NEXT}$")
        proc.send_signal(signal.SIGHUP)
        reloading = abstract_notify_socket.wait_for("^RELOADING=1$")
        assert re.fullmatch(r"RELOADING=1\nMONOTONIC_USEC=\d+", reloading)
        ready = abstract_notify_socket.wait_for("^READY=1$")
        assert re.fullmatch(rf"READY=1\nSTATUS=1 source, 1 crawling: slow{NEXT}", ready)
        release.set()
        err.wait_for(r"run \d+ of slow: ok ")
        abstract_notify_socket.wait_for(rf"^STATUS=1 source, 0 crawling{NEXT}$")
        proc.send_signal(signal.SIGTERM)
        abstract_notify_socket.wait_for("^STOPPING=1$")
        assert proc.wait(timeout=WAIT) == 0


def test_a_notify_socket_that_does_not_exist_is_one_warning_and_the_daemon_runs_on(
    sample_web: SampleWeb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(one_source(sample_web, "linxia-news"), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'a.db'}"
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens.sock"))
    monkeypatch.setenv("WATCHDOG_USEC", WATCHDOG_USEC)
    with started("daemon", "--sources", str(sources), "--db", db, "--now", *LOOPBACK) as (proc, err):
        err.wait_for(
            r"WARNING crawler.runner.sdnotify: cannot notify the service manager at .*nobody-listens"
        )
        err.wait_for(r"run \d+ of linxia-news: ok ")  # meanwhile the watchdog beat failed many times
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=WAIT) == 0
        err.wait_for(r"INFO .*stopped$")
    assert len([line for line in err.seen if "cannot notify" in line]) == 1
    ((_, _, status, _),) = run_rows(db)
    assert status == "ok"
