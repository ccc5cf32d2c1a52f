"""raw captures in WARC: the captures table and the capture of each article, revision and rejection

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 22:40:00

Pages fetched before this migration have no capture: their capture_id stays empty.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.migrations.frozen.types import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "captures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=False),
        sa.Column("fetched_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("warc_file", sa.String(length=500), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("request_offset", sa.BigInteger(), nullable=False),
        sa.Column("request_length", sa.BigInteger(), nullable=False),
        sa.Column("record_id", sa.String(length=100), nullable=False),
        sa.Column("payload_digest", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["crawl_runs.id"], name=op.f("fk_captures_run_id_crawl_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_captures")),
    )
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_captures_run_id"), ["run_id"], unique=False)
    for table in ("articles", "article_revisions", "rejections"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("capture_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_capture_id_captures"), "captures", ["capture_id"], ["id"]
            )


def downgrade() -> None:
    for table in ("rejections", "article_revisions", "articles"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_capture_id_captures"), type_="foreignkey")
            batch_op.drop_column("capture_id")
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_captures_run_id"))
    op.drop_table("captures")
