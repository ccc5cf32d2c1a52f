"""pairing relations and their evidence: who pairs with whom, read from the stored texts

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 07:30:00

Two new tables; nothing stored changes. Articles stored before this migration have no facts until a
`pairchive reprocess --apply` (or `pairchive pairings --read`) reads them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.migrations.frozen.types import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pairing_relations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("a_code", sa.String(length=6), nullable=True),
        sa.Column("a_place", sa.Text(), nullable=False),
        sa.Column("a_town", sa.Text(), nullable=True),
        sa.Column("a_schools", sa.JSON(), nullable=False),
        sa.Column("b_code", sa.String(length=6), nullable=True),
        sa.Column("b_place", sa.Text(), nullable=False),
        sa.Column("b_town", sa.Text(), nullable=True),
        sa.Column("b_schools", sa.JSON(), nullable=False),
        sa.Column("first_seen", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pairing_relations")),
        sa.UniqueConstraint("key", name=op.f("uq_pairing_relations_key")),
    )
    with op.batch_alter_table("pairing_relations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pairing_relations_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_pairing_relations_a_code"), ["a_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_pairing_relations_b_code"), ["b_code"], unique=False)
    op.create_table(
        "pairing_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("relation_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("a_count", sa.Integer(), nullable=True),
        sa.Column("b_count", sa.Integer(), nullable=True),
        sa.Column("a_role", sa.String(length=10), nullable=True),
        sa.Column("b_role", sa.String(length=10), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("sentence", sa.Text(), nullable=False),
        sa.Column("reader", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_pairing_evidence_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["relation_id"],
            ["pairing_relations.id"],
            name=op.f("fk_pairing_evidence_relation_id_pairing_relations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pairing_evidence")),
    )
    with op.batch_alter_table("pairing_evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pairing_evidence_article_id"), ["article_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pairing_evidence_relation_id"), ["relation_id"], unique=False)


def downgrade() -> None:
    op.drop_table("pairing_evidence")
    op.drop_table("pairing_relations")
