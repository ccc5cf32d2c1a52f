"""pairchive's own crawl signals (Scrapy signals are plain objects)."""

# A page could not be fetched, was not allowed, or was settled under another URL: kwargs url, reason
# ("failed", "robots_disallowed", "not_html", "redirected", and the URL policy's "scheme" and
# "private_address"), detail.
page_not_fetched = object()
