"""Durations as an operator writes them in a sources file (`min_interval = "6h"`), and as pairchive says them.

A duration is whole numbers of weeks, days, hours and minutes, largest first, without spaces: "30m", "6h",
"2d", "1w", "1d12h". Minutes are the finest unit, as they are a cron schedule's.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60))
_DURATION_RE = re.compile(r"(?:(\d{1,6})w)?(?:(\d{1,6})d)?(?:(\d{1,6})h)?(?:(\d{1,6})m)?")
SHOWN_UNITS = (("d", 86400), ("h", 3600), ("m", 60))  # a week is said as 7d, easier to compare


def parse_duration(text: str) -> timedelta:
    """`text` as a duration; anything else (no unit, seconds, a fraction, spaces) is a ValueError."""
    match = _DURATION_RE.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"{text!r} is not a duration such as 30m, 6h, 2d or 1d12h")
    seconds = sum(int(part) * size for part, (_, size) in zip(match.groups(), _UNITS, strict=True) if part)
    return timedelta(seconds=seconds)


def duration_text(value: timedelta) -> str:
    """`value` to the minute, in the units `parse_duration` reads ("1d12h", "13h30m"); "0m" for none."""
    minutes = round(value.total_seconds() / 60)
    parts: list[str] = []
    for unit, size in SHOWN_UNITS:
        count, minutes = divmod(minutes, size // 60)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0m"
