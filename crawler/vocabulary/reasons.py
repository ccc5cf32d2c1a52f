"""The exceptions that carry a page's rejection reason from where it is decided to where it is recorded."""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest


class RefusedUrl(IgnoreRequest):
    """A request the URL policy does not make: `reason` is the rejection's reason word."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
