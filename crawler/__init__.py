"""pairchive's application: its vocabulary (crawler.vocabulary), the crawl process (crawler.process), the
parent-side runner (crawler.runner) and the shell (crawler.cli, crawler.sampleweb); Scrapy settings in
crawler.settings."""

__version__ = "0.1.0"
