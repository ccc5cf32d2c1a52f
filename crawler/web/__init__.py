"""The reading room: `pairchive serve`, a read-only web interface to the archive.

Server-rendered pages, each with a citable URL and a JSON twin under /api/, thin over the same search and
query functions the CLI uses (storage.search, storage.queries), on SQLite and PostgreSQL. Every asset ships
in the package and every page is sent with `Content-Security-Policy: default-src 'self'`; stored text is
escaped by the templates (Jinja2 autoescape), never marked safe.
"""
