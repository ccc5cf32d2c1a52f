"""URLs of any length: URL columns become Text, and a stored URL is unique by its SHA-256

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:00:00

The URL columns were VARCHAR(2000): PostgreSQL refused the longer URLs Scrapy requests (up to
URLLENGTH_LIMIT, 2,083 characters) and redirect targets, where SQLite (which does not enforce lengths)
stored them. They become TEXT on both. A PostgreSQL btree index takes entries of about 2,700 bytes at
most, so the uniqueness of articles.url and sightings.url moves to a new column, `url_hash` (the SHA-256
of the URL in hex, storage.models.url_hash), filled in here for every stored row. Nothing stored changes.
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNIQUE_URLS = ("articles", "sightings")  # tables whose canonical URL is unique
URL_COLUMNS = {
    "articles": ("url", "fetched_url"),
    "sightings": ("url", "fetched_url"),
    "rejections": ("url",),
    "captures": ("url",),
}
BATCH = 1000


def _fill_hashes(table: str) -> None:
    """url_hash for every row of `table`, as storage.models.url_hash computes it (the same on both
    databases: SQLite has no SHA-256 of its own)."""
    conn = op.get_bind()
    rows = sa.table(table, sa.column("id", sa.Integer), sa.column("url", sa.Text))
    target = sa.table(table, sa.column("id", sa.Integer), sa.column("url_hash", sa.String))
    last = 0
    while True:
        batch = conn.execute(
            sa.select(rows.c.id, rows.c.url).where(rows.c.id > last).order_by(rows.c.id).limit(BATCH)
        ).all()
        if not batch:
            return
        conn.execute(
            target.update().where(target.c.id == sa.bindparam("row_id")).values(url_hash=sa.bindparam("h")),
            [{"row_id": i, "h": hashlib.sha256(url.encode("utf-8")).hexdigest()} for i, url in batch],
        )
        last = batch[-1][0]


def upgrade() -> None:
    for table in UNIQUE_URLS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("url_hash", sa.String(length=64), nullable=True))
        _fill_hashes(table)
    for table, columns in URL_COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(
                    column, existing_type=sa.String(length=2000), type_=sa.Text(), existing_nullable=False
                )
            if table in UNIQUE_URLS:
                batch_op.alter_column("url_hash", existing_type=sa.String(length=64), nullable=False)
                batch_op.drop_constraint(batch_op.f(f"uq_{table}_url"), type_="unique")
                batch_op.create_unique_constraint(batch_op.f(f"uq_{table}_url_hash"), ["url_hash"])


def downgrade() -> None:
    # Only for an archive whose URLs all fit 2,000 characters: a longer one makes the database refuse it.
    for table, columns in URL_COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table in UNIQUE_URLS:
                batch_op.drop_constraint(batch_op.f(f"uq_{table}_url_hash"), type_="unique")
                batch_op.create_unique_constraint(batch_op.f(f"uq_{table}_url"), ["url"])
                batch_op.drop_column("url_hash")
            for column in columns:
                batch_op.alter_column(
                    column, existing_type=sa.Text(), type_=sa.String(length=2000), existing_nullable=False
                )
