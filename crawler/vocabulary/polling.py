"""Polling that learns: when a source with `min_interval` and `max_interval` is next visited, and why.

The idea is Media Cloud's for feeds: fetch again soon the ones that yield new stories, back off the ones
that do not. The rule, walked over the source's recent visits (storage.visits) from the oldest, starting
at `min_interval` and kept within the bounds:

- a visit that found new articles halves the interval;
- a visit that completed (ok, or any status but failed, timeout and interrupted) and found nothing new
  makes it half as long again (x1.5);
- a visit that did not complete and found nothing leaves it as it was: a dead portal is the failure
  alarms' business, and is tried again at the cadence it had.

It shrinks faster than it grows, so a portal that starts publishing again is caught up within a visit or
two, while a quiet one is backed off gently: an empty visit costs a few listing pages (known articles are
not fetched again), a late one may find an article already paged off its listing.

"New articles" are article pages no earlier run had settled: stored, revised, or rejected as one article
(not_pairing, no_text, duplicate). A run that met only known pages (its `known` count) found nothing new.

The cron `schedule` stays the finest grid: a source is visited only at its cron times, the first one at
or after its last visit's start plus the interval (less a tenth of the interval, at most an hour, so a
daily schedule with a 1d interval does not miss by the seconds a crawl takes to start, nor by a wait for a
free slot). The interval is a function of the stored runs alone: no state of its own to keep in sync.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from crawler.vocabulary.durations import duration_text
from crawler.vocabulary.sources import Source, cron_trigger
from storage.outcomes import ENDED_EARLY, Reason, RunStatus
from storage.visits import Visit, recent_visits

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

NEW_ARTICLE_COUNTS = ("stored", "revised", Reason.NOT_PAIRING, Reason.NO_TEXT, Reason.DUPLICATE)
INCOMPLETE = ENDED_EARLY
SHRINK = 0.5  # a visit with new articles
GROW = 1.5  # a completed visit with nothing new
EARLY_SHARE = 0.1  # a cron time this share of the interval early is due...
EARLY_CAP = timedelta(hours=1)  # ...up to the misfire grace, the most a scheduled run starts late
WHY_WINDOW = 5  # the visits "new articles in K of the last N visits" counts
ENDED = {RunStatus.FAILED: "failed", RunStatus.TIMEOUT: "timed out", RunStatus.INTERRUPTED: "was interrupted"}


@dataclass(frozen=True)
class VisitPlan:
    """When a source is next visited (`next_visit`, a cron time), at what interval and why; `due`: now is
    not too early (always, for a source without bounds)."""

    next_visit: datetime | None
    interval: timedelta | None
    why: str
    due: bool


def new_articles(counts: Mapping[str, Any]) -> int:
    """Article pages of a run that no earlier run had settled."""
    return sum(int(counts.get(key) or 0) for key in NEW_ARTICLE_COUNTS)


def learnt_interval(visits: Sequence[Visit], low: timedelta, high: timedelta) -> timedelta:
    """The interval after `visits` (newest first), by the rule of this module's docstring."""
    interval = low
    for visit in reversed(visits):
        if new_articles(visit.counts):
            interval = max(low, interval * SHRINK)
        elif visit.status not in INCOMPLETE:
            interval = min(high, interval * GROW)
    return interval


def why_text(visits: Sequence[Visit], interval: timedelta, low: timedelta, high: timedelta) -> str:
    """The interval and what set it: "every 2d: nothing new in the last 3 visits"."""
    bound = " (min)" if interval <= low else " (max)" if interval >= high else ""
    every = f"every {duration_text(interval)}{bound}"
    if not visits:
        return f"{every}: no visit yet"
    last = visits[0]
    if new_articles(last.counts):
        recent = visits[:WHY_WINDOW]
        found = sum(1 for v in recent if new_articles(v.counts))
        if len(recent) == 1:
            return f"{every}: new articles in the last visit"
        return f"{every}: new articles in {found} of the last {len(recent)} visits"
    if last.status in INCOMPLETE:
        return f"{every}: the last visit {ENDED.get(RunStatus(last.status), last.status)}, interval kept"
    empty = 0
    for visit in visits:
        if new_articles(visit.counts):
            break
        empty += visit.status not in INCOMPLETE
    return f"{every}: nothing new in the last {'visit' if empty == 1 else f'{empty} visits'}"


def plan_visit(source: Source, visits: Sequence[Visit], now: datetime) -> VisitPlan:
    """The source's next visit, given its recent visits (newest first); a source without bounds is
    visited at every cron time."""
    trigger = cron_trigger(source.schedule, source.timezone)
    low, high = source.min_interval, source.max_interval
    if low is None or high is None:
        return VisitPlan(trigger.get_next_fire_time(None, now), None, "schedule", True)
    interval = learnt_interval(visits, low, high)
    due_at = now
    if visits:
        due_at = visits[0].started_at + interval - min(interval * EARLY_SHARE, EARLY_CAP)
    return VisitPlan(
        trigger.get_next_fire_time(None, max(now, due_at)),
        interval,
        why_text(visits, interval, low, high),
        due=now >= due_at,
    )


def planned_visit(session: Session | None, source: Source, now: datetime) -> VisitPlan:
    """`plan_visit` over the source's stored visits (none without an archive yet)."""
    adaptive = source.min_interval is not None
    return plan_visit(source, recent_visits(session, source.name) if adaptive and session else [], now)
