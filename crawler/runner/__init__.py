"""The parent side: runs a crawl as a subprocess under a lease (crawl), checks a source (check), reprocesses
stored pages (reprocess, rejudge). Used by the CLI and the daemon; it starts the crawl process, never imports it."""
