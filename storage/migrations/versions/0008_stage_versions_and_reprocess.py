"""stage versions on articles and revisions, who made each revision, gate flags, and the reprocess ledger

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 10:00:00

Articles and revisions stored before this migration have no stage versions (NULL: made before versions
were recorded). A revision's `made_by` is filled in from its number: the first was stored by a crawl, later
ones by a recrawl (the only ways a revision was made until now).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.migrations.frozen.types import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage_versions", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("flag_reason", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("flag_detail", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("flagged_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("flag_run_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_articles_flag_run_id_crawl_runs"), "crawl_runs", ["flag_run_id"], ["id"]
        )
    with op.batch_alter_table("article_revisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage_versions", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("made_by", sa.String(length=20), server_default="crawl", nullable=False)
        )
    op.execute("UPDATE article_revisions SET made_by = 'recrawl' WHERE revision > 1")
    # reprocess looks pages up by their capture
    for table in ("articles", "rejections"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f"ix_{table}_capture_id"), ["capture_id"], unique=False)
    op.create_table(
        "reprocessed_pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("capture_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("stage_versions", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_reprocessed_pages_article_id_articles"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["capture_id"], ["captures.id"], name=op.f("fk_reprocessed_pages_capture_id_captures")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["crawl_runs.id"],
            name=op.f("fk_reprocessed_pages_run_id_crawl_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reprocessed_pages")),
    )
    with op.batch_alter_table("reprocessed_pages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reprocessed_pages_capture_id"), ["capture_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reprocessed_pages_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reprocessed_pages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reprocessed_pages_run_id"))
        batch_op.drop_index(batch_op.f("ix_reprocessed_pages_capture_id"))
    op.drop_table("reprocessed_pages")
    for table in ("rejections", "articles"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_capture_id"))
    with op.batch_alter_table("article_revisions", schema=None) as batch_op:
        batch_op.drop_column("made_by")
        batch_op.drop_column("stage_versions")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_articles_flag_run_id_crawl_runs"), type_="foreignkey")
        for column in ("flag_run_id", "flagged_at", "flag_detail", "flag_reason", "stage_versions"):
            batch_op.drop_column(column)
