"""Telling the service manager how the daemon is: systemd's notify protocol (sd_notify), without libsystemd.

systemd starts a `Type=notify` service with NOTIFY_SOCKET, the address of a Unix datagram socket: a path, or
a name in Linux's abstract namespace written with a leading `@`. Each message is one datagram of
`KEY=VALUE` lines: READY=1 (started: systemd considers the unit up), STATUS=... (one line shown by
`systemctl status`), RELOADING=1 with MONOTONIC_USEC (a reload begins; READY=1 again when it is done),
STOPPING=1, WATCHDOG=1 (alive). With `WatchdogSec=`, systemd also sets WATCHDOG_USEC (and WATCHDOG_PID, the
process it is meant for): a service that sends no WATCHDOG=1 for that long is restarted.

Without NOTIFY_SOCKET nothing is sent. The variables are taken out of the environment when read, so the
crawl subprocesses the daemon starts do not see them (systemd would refuse their messages anyway with
NotifyAccess=main). A send that fails (no such socket, no one listening) is one warning; later failures
are only in the debug log, and nothing is raised: the service manager's view is never worth a crawl.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import MutableMapping

logger = logging.getLogger(__name__)

SOCKET_ENV = "NOTIFY_SOCKET"
WATCHDOG_USEC_ENV = "WATCHDOG_USEC"
WATCHDOG_PID_ENV = "WATCHDOG_PID"
SEND_TIMEOUT_SECONDS = 1.0


def _address(value: str) -> str | bytes | None:
    """The socket address NOTIFY_SOCKET names: a path, or `@name` in the abstract namespace."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    return None  # a vsock address (vsock:CID:PORT), or no address at all


def _watchdog_seconds(environ: MutableMapping[str, str]) -> float | None:
    """WATCHDOG_USEC in seconds, when it is meant for this process."""
    usec, pid = environ.get(WATCHDOG_USEC_ENV, ""), environ.get(WATCHDOG_PID_ENV, "")
    try:
        seconds = int(usec) / 1_000_000
        meant_for_us = not pid or int(pid) == os.getpid()
    except ValueError:
        return None
    return seconds if seconds > 0 and meant_for_us else None


class Notifier:
    """The daemon's messages to the service manager; every method does nothing without a socket."""

    def __init__(self, address: str | None = None, watchdog_seconds: float | None = None) -> None:
        self.address = address
        self.watchdog_seconds = watchdog_seconds
        self._socket: socket.socket | None = None
        self._failed = False
        self._status: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, environ: MutableMapping[str, str] | None = None) -> Notifier:
        """The notifier systemd's variables ask for, taking them out of `environ` (os.environ)."""
        env = os.environ if environ is None else environ
        watchdog = _watchdog_seconds(env)
        address = env.get(SOCKET_ENV) or None
        for name in (SOCKET_ENV, WATCHDOG_USEC_ENV, WATCHDOG_PID_ENV):
            env.pop(name, None)
        return cls(address, watchdog if address else None)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    @property
    def watchdog_interval(self) -> float | None:
        """How often to send WATCHDOG=1: half the watchdog's time, as systemd advises (None: no watchdog)."""
        return self.watchdog_seconds / 2 if self.watchdog_seconds else None

    def send(self, *fields: str) -> bool:
        """Send one message of `KEY=VALUE` fields; whether it was sent."""
        if self.address is None:
            return False
        with self._lock:
            try:
                address = _address(self.address)
                if address is None:
                    raise OSError(f"unsupported address {self.address!r} (a path or @name)")
                if self._socket is None:
                    self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                    # A listener that does not read (its queue full) must not hold up the daemon's loop.
                    self._socket.settimeout(SEND_TIMEOUT_SECONDS)
                self._socket.sendto("\n".join(fields).encode(), address)
            except OSError as exc:
                log = logger.debug if self._failed else logger.warning
                self._failed = True
                log("cannot notify the service manager at %s: %s", self.address, exc)
                return False
        return True

    def ready(self, status: str | None = None) -> None:
        """Started (or reloaded): the service manager considers the daemon up."""
        self.send("READY=1", *self._status_field(status))

    def reloading(self) -> None:
        """A reload begins (READY=1 says it is done). MONOTONIC_USEC lets `Type=notify-reload` match it to
        the reload it asked for."""
        self.send("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")

    def stopping(self, status: str | None = None) -> None:
        self.send("STOPPING=1", *self._status_field(status))

    def status(self, text: str) -> None:
        """What the daemon is doing, sent when it changed."""
        if text != self._status:
            self.send(*self._status_field(text))

    def watchdog(self) -> None:
        self.send("WATCHDOG=1")

    def _status_field(self, text: str | None) -> list[str]:
        if text is None:
            return []
        self._status = text
        return [f"STATUS={' '.join(text.split())}"]  # one line: a newline would end the field

    def close(self) -> None:
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None
