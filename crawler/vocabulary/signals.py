"""pairchive's own crawl signals (Scrapy signals are plain objects)."""

# A page could not be fetched, was not allowed, or was settled under another URL: kwargs url, reason
# (a storage.outcomes.Reason: failed, robots_disallowed, not_html, redirected, the URL policy's...), detail.
page_not_fetched = object()
