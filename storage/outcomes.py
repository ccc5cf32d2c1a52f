"""The declared outcomes the archive stores: why a page was not stored (`Reason`, `rejections.reason`),
how a run ended (`RunStatus`, `crawl_runs.status`, and a worker's part in one, `run_workers.status`), and
why a stored story is flagged (`FLAG_REASONS`, `articles.flag_reason`).

The values are the words stored since the first release; the database refuses any other (CHECK
constraints, migrations 0010, 0012 and 0013). A new member needs a new migration that widens the
constraint: the migration's frozen copy of these sets is compared with them by the tests.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why a page a run asked for was not stored."""

    # The per-article stages (pipelines/): the page was read, and its capture kept.
    NOT_PAIRING = "not_pairing"  # the relevance gate: the text does not read as a school-pairing story
    NO_TEXT = "no_text"  # no article body extracted, or too little left after cleaning
    DUPLICATE = "duplicate"  # the same page or text is stored already (or another crawl stored it meanwhile)
    UNCHANGED = "unchanged"  # a re-fetch of a stored story whose cleaned text has not changed
    # The download (spiders/portal.py).
    FAILED = "failed"  # the fetch failed (HTTP error, network, DNS) or a stage raised an unexpected error
    NOT_HTML = "not_html"  # the response's headers say it is not a page, feed or sitemap (a PDF, a video)
    ROBOTS_DISALLOWED = "robots_disallowed"  # the portal's robots.txt does not allow it
    TOO_LARGE = "too_large"  # a download over its cap, as sent or unpacked
    REDIRECT_LOOP = "redirect_loop"  # redirects to itself, in a circle, or past REDIRECT_MAX_TIMES
    REDIRECTED = "redirected"  # its redirect leads to another page, settled under that one
    # Feeds and sitemaps (spiders/discovery.py).
    UNPARSABLE = "unparsable"  # a feed or sitemap that is not one: not XML, an HTML page, broken gzip, empty
    XML_ENTITIES = "xml_entities"  # a feed or sitemap declaring XML entities: refused unread
    TRUNCATED = "truncated"  # a feed or sitemap of more entries than the cap: the first ones read
    # The URL policy (crawler/process/urlpolicy.py) and politeness (crawler/process/politeness.py).
    SCHEME = "scheme"  # a link or redirect of a scheme other than http and https, never requested
    URL_TOO_LONG = "url_too_long"  # a link or redirect target longer than URLLENGTH_LIMIT, never requested
    PRIVATE_ADDRESS = "private_address"  # a host resolving to a non-public address while the guard is on
    OFFSITE = "offsite"  # a redirect off the source's allowed domains: the target never requested
    RETRY_AFTER = "retry_after"  # the portal asked to wait longer than the crawl waits: left for the next run
    # Kept for databases written before the reasons were declared (migration 0010): a stage then dropped a
    # page without a reason word. Nothing records it now; a plain DropItem is recorded as `failed`.
    DROPPED = "dropped"


class RunStatus(StrEnum):
    """How a crawl run (or a reprocess run) ended, or that it has not yet."""

    RUNNING = "running"  # not ended yet (or its process died and no one has closed it yet)
    OK = "ok"  # ended by itself, a page or time cap of the source's included
    FAILED = "failed"  # the portal dead, a crash, a crawl that could not start, a refused write
    TIMEOUT = "timeout"  # the crawl's time limit ended it
    INTERRUPTED = "interrupted"  # stopped: a shutdown, Ctrl-C, a parent gone, a lease taken over
    # Ended by itself like `ok`, but its pages' extraction health drifted far from the source's own
    # recent ok runs (storage.health): a portal's new template, most likely. Widened by migration 0012.
    DEGRADED = "degraded"


# The statuses of a run that ended by itself: its pages are settled (an incremental run goes on from them).
COMPLETED: frozenset[RunStatus] = frozenset({RunStatus.OK, RunStatus.DEGRADED})
# The statuses of a run that did not end by itself: failed, stopped by its time limit, interrupted.
ENDED_EARLY: frozenset[RunStatus] = frozenset({RunStatus.FAILED, RunStatus.TIMEOUT, RunStatus.INTERRUPTED})
# How one worker's part in a distributed run ended (`run_workers.status`, migration 0013). Never degraded:
# health is judged on the whole run, once the workers' counts are merged.
WORKER_STATUSES: tuple[RunStatus, ...] = (
    RunStatus.OK,
    RunStatus.FAILED,
    RunStatus.TIMEOUT,
    RunStatus.INTERRUPTED,
)


# Why a stored story is flagged by a reprocess (`articles.flag_reason`): today's gate rejects it, or
# nothing extracts from its page now. The story is kept.
FLAG_REASONS: frozenset[Reason] = frozenset({Reason.NOT_PAIRING, Reason.NO_TEXT})
