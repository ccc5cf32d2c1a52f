"""The exceptions that carry a page's rejection reason from where it is decided to where it is recorded.

A reason is a member of `storage.outcomes.Reason`, the declared set the archive stores (and its
database accepts): a word outside it is refused here, where it is made, not when the row is written.
"""

from __future__ import annotations

from scrapy.exceptions import DropItem, IgnoreRequest

from storage.outcomes import Reason

__all__ = ["Reason", "RefusedUrl", "Rejected"]


def _message(reason: Reason, detail: str) -> str:
    """`reason: detail`, the one line logs and commands show a rejection as."""
    return f"{reason}: {detail}" if detail else str(reason)


class Rejected(DropItem):
    """A page a stage does not keep (the expected rejections of pipelines/): why, and a one-line detail."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        reason = Reason(reason)  # a typo'd word fails here, at the stage that made it
        super().__init__(_message(reason, detail))
        self.reason = reason
        self.detail = detail


class RefusedUrl(IgnoreRequest):
    """A request the crawl does not make (the URL policy, a deferred retry): why, and a one-line detail."""

    def __init__(self, reason: Reason, detail: str) -> None:
        reason = Reason(reason)
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
