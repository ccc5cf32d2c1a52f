"""The crawl process (`python -m crawler.process.worker`) and its Scrapy components: raw capture, politeness,
incremental runs, the URL policy, robots.txt, the run record, the log formatter. It runs spiders/ and
pipelines/; it never imports the runner or the CLI."""
