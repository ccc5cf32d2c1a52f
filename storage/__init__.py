"""Storage: SQLAlchemy 2.0 models, engine setup, Alembic migrations and the archive's queries.

Knows nothing of Scrapy: the crawl side hands it plain values.
"""
