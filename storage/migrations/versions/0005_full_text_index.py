"""full-text index: Han bigrams and words, FTS5 on SQLite, tsvector + GIN on PostgreSQL

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 20:55:00

The index is not part of the models (it is dialect-specific): storage.fulltext keeps it in step with
`articles`. Every stored article is indexed here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.migrations.frozen.fulltext import index_text

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE articles_fts USING fts5(tokens, tokenize = 'unicode61 remove_diacritics 0')"
        )
        insert = "INSERT INTO articles_fts (rowid, tokens) VALUES (:id, :tokens)"
    else:
        op.execute(
            "CREATE TABLE article_search (article_id INTEGER PRIMARY KEY"
            " REFERENCES articles (id) ON DELETE CASCADE, tokens tsvector NOT NULL)"
        )
        op.execute("CREATE INDEX ix_article_search_tokens ON article_search USING gin (tokens)")
        insert = (
            "INSERT INTO article_search (article_id, tokens) VALUES (:id, to_tsvector('simple', :tokens))"
        )
    articles = sa.table("articles", sa.column("id", sa.Integer), sa.column("title"), sa.column("text"))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(articles.c.id, articles.c.title, articles.c.text)
            .where(articles.c.id > last)
            .order_by(articles.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        bind.execute(
            sa.text(insert), [{"id": i, "tokens": index_text(title, text)} for i, title, text in rows]
        )
        last = rows[-1][0]


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE articles_fts")
    else:
        op.execute("DROP TABLE article_search")
