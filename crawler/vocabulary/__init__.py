"""The vocabulary every package shares: items, URLs, charsets, dates, sources, configuration, errors, the
spider-to-component protocol. spiders/ and pipelines/ import the crawler package only from here; nothing here
imports the crawl process, the runner or the CLI."""
