"""Scrapy's own command line in a pairchive project (scrapy.cfg, COMMANDS_MODULE in crawler/settings.py):
`scrapy crawl portal -a source=NAME` is a crawl as `pairchive crawl --source NAME` makes it."""
