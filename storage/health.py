"""Extraction health and drift: what a crawl run's article pages looked like once the stages read them, and
whether that drifted from its source's own recent ok runs (a portal's new template).

A run's health (`crawl_runs.health`) is a dict of plain numbers, counted by the crawl process
(crawler.process.health) and judged here, with no database and no Scrapy:

    pages         article pages the stages read (stored, revised, and dropped as no_text, not_pairing,
                  duplicate, unchanged)
    with_text     of them, pages that kept a text through cleaning
    no_text       share of `pages` with no text
    median_chars  median length of the cleaned texts, in characters (None without texts)
    dated         share of `with_text` with a published date found
    credited      share of `with_text` with an author or an outlet found
    gate          share of `with_text` the relevance gate passed
    boilerplate   share of `with_text` still holding a line the cleaning rules' patterns match
    duplicate     share of `pages` dropped as duplicates

The shares of what a text carries are of the pages with text, so a template that loses the text is
said once (no text), not again as lost dates and authors.

The verdict compares each measure with its median over the source's last `HISTORY_RUNS` ok runs of at
least `MIN_PAGES` pages, in units of a robust spread: the history's median absolute deviation, but no
less than the sampling noise of the run's own page count, nor a floor (a perfectly steady history would
otherwise make every small change an alarm). A shift both large against that spread and large in
itself makes the run `degraded`, said in one line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

# The baseline: a source's last ten ok runs (ten nights of a nightly portal): enough for a median and a
# spread that one odd night does not move, recent enough to follow a portal's slow changes.
HISTORY_RUNS = 10
# Fewer ok runs than this and there is no telling a portal's habit from its accident.
MIN_HISTORY = 3
# A run of fewer article pages says too little: one page of four without a date is 25% already.
MIN_PAGES = 5
# A shift counts only beyond this many spreads. Simulated nights of an unchanged portal (5 to 40 pages,
# its shares wandering from night to night) crossed 3.5 about once in 1,200 runs, 4 once in 6,000; a
# broken template (60% without text, dates gone, boilerplate in most texts) crosses 4 all the same. A
# gate share that wanders by 10 points a night cannot be told collapsed at 20 pages: a steady one can.
SPREADS = 4.0
# The median absolute deviation times this is the standard deviation of normally spread values.
MAD_TO_SD = 1.4826
# The sampling noise of a share is figured as if it were at least this far from 0 and 1: a history of
# 0% no-text pages does not make one such page in a small run a surprise.
NOISE_SHARE = 0.1
# The spread of story lengths within a portal, as a standard deviation of log(chars) (stories of about
# 600 to 2,500 characters): the noise of a small run's median length.
LENGTH_LOG_SD = 0.5

VERDICTS = ("steady", "degraded", "no_verdict")


@dataclass(frozen=True)
class Measure:
    """One number of a run's health, and when its shift is news."""

    key: str
    of: str  # the count it is a share of ("pages", "with_text"); "" for a length
    worse: int  # +1: a rise is the bad direction; -1: a fall is
    min_shift: float  # the least shift that is news at all: share points, or a log ratio for a length
    floor: float  # the least spread a baseline is given
    says: str  # the reason's wording: {now} and {usual} formatted

    def value(self, health: Mapping[str, Any]) -> float | None:
        raw = health.get(self.key)
        if not isinstance(raw, int | float) or (self.of and not health.get(self.of)):
            return None
        if not self.of:  # a length: compared as a ratio
            return math.log(raw) if raw > 0 else None
        return float(raw)

    def noise(self, usual: float, health: Mapping[str, Any]) -> float:
        """The standard deviation of this measure from the run's page count alone."""
        if not self.of:
            # a median of n values spreads about 1.25 times as wide as their mean
            return LENGTH_LOG_SD * 1.25 / math.sqrt(max(int(health.get("with_text") or 1), 1))
        n = int(health[self.of])
        p = min(max(usual, NOISE_SHARE), 1 - NOISE_SHARE)
        # half a page more: a few pages of a small run are a coarser step than the normal curve says
        return math.sqrt(p * (1 - p) / n) + 0.5 / n

    def shift(self, health: Mapping[str, Any], history: Sequence[Mapping[str, Any]]) -> str | None:
        """The reason's part for this measure when it moved far the bad way; None when it did not."""
        now = self.value(health)
        past = [v for v in (self.value(h) for h in history) if v is not None]
        if now is None or len(past) < MIN_HISTORY:
            return None
        usual = median(past)
        # the history's own spread, or the run's sampling noise when larger: a night of few pages wavers more
        habit = MAD_TO_SD * median(abs(v - usual) for v in past)
        spread = max(habit, self.noise(usual, health), self.floor)
        moved = (now - usual) * self.worse
        if moved < self.min_shift or moved <= SPREADS * spread:
            return None
        if self.of:
            return self.says.format(now=f"{now:.0%}", usual=f"{usual:.0%}")
        return self.says.format(now=f"{math.exp(now):,.0f}", usual=f"{math.exp(usual):,.0f}")


# Shares move by at least 25 points to be news: a quarter of a portal's pages changing at once is what a
# template does, not what a night's news does. A length at least halves (log 2).
MEASURES: tuple[Measure, ...] = (
    Measure("no_text", "pages", +1, 0.25, 0.03, "no text on {now} of article pages (usually {usual})"),
    Measure("median_chars", "", -1, math.log(2), 0.15, "median text {now} chars (usually {usual})"),
    Measure("dated", "with_text", -1, 0.25, 0.03, "a date found on {now} of texts (usually {usual})"),
    Measure(
        "credited", "with_text", -1, 0.25, 0.03, "an author or outlet on {now} of texts (usually {usual})"
    ),
    Measure("gate", "with_text", -1, 0.25, 0.03, "{now} of texts pass the relevance gate (usually {usual})"),
    Measure(
        "boilerplate",
        "with_text",
        +1,
        0.25,
        0.03,
        "boilerplate lines left in {now} of texts (usually {usual})",
    ),
    Measure("duplicate", "pages", +1, 0.25, 0.03, "{now} of article pages are duplicates (usually {usual})"),
)


@dataclass(frozen=True)
class Verdict:
    word: str  # one of VERDICTS
    line: str  # the one line a person reads

    @property
    def degraded(self) -> bool:
        return self.word == "degraded"

    def fields(self) -> dict[str, str]:
        """What the verdict adds to the health it judged."""
        return {"verdict": self.word, "verdict_line": self.line}


def judge(health: Mapping[str, Any], history: Sequence[Mapping[str, Any]]) -> Verdict:
    """The verdict on a run's health against the healths of its source's ok runs before it, newest first
    (degraded runs are not handed in: a baseline that learns a breakage stops seeing it)."""
    pages = int(health.get("pages") or 0)
    if pages < MIN_PAGES:
        return Verdict("no_verdict", f"no verdict: {pages} article page{_s(pages)}, {MIN_PAGES} needed")
    usable = [h for h in history if int(h.get("pages") or 0) >= MIN_PAGES][:HISTORY_RUNS]
    if len(usable) < MIN_HISTORY:
        n = len(usable)
        return Verdict("no_verdict", f"no verdict: {n} ok run{_s(n)} of history, {MIN_HISTORY} needed")
    reasons = [part for measure in MEASURES if (part := measure.shift(health, usable))]
    if reasons:
        return Verdict("degraded", "; ".join(reasons))
    return Verdict("steady", f"steady: like the last {len(usable)} ok runs")


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def health_of(
    *,
    pages: int,
    no_text: int,
    lengths: Sequence[int],
    dated: int,
    credited: int,
    gate: int,
    boilerplate: int,
    duplicate: int,
) -> dict[str, Any]:
    """A run's health from its counts (`lengths`: the cleaned texts' lengths, one per page with text)."""
    with_text = len(lengths)

    def share(count: int, of: int) -> float | None:
        return round(count / of, 4) if of else None

    return {
        "pages": pages,
        "with_text": with_text,
        "no_text": share(no_text, pages),
        "median_chars": round(median(lengths)) if lengths else None,
        "dated": share(dated, with_text),
        "credited": share(credited, with_text),
        "gate": share(gate, with_text),
        "boilerplate": share(boilerplate, with_text),
        "duplicate": share(duplicate, pages),
    }


def describe(health: Mapping[str, Any]) -> str:
    """A health in one line, as `runs show` and `sources check --against-history` print it."""

    def pct(key: str) -> str:
        value = health.get(key)
        return f"{value:.0%}" if isinstance(value, int | float) else "-"

    chars = health.get("median_chars")
    return (
        f"{health.get('pages', 0)} article pages: no text {pct('no_text')}, duplicates {pct('duplicate')}; "
        f"of {health.get('with_text', 0)} with text: median {f'{chars:,}' if chars is not None else '-'} "
        f"chars, dated {pct('dated')}, author or outlet {pct('credited')}, pass the gate {pct('gate')}, "
        f"boilerplate left {pct('boilerplate')}"
    )
