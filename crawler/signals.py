"""pairchive's own crawl signals (Scrapy signals are plain objects)."""

# A page could not be fetched or was not allowed: kwargs url, reason ("failed", "robots_disallowed"), detail.
page_not_fetched = object()
