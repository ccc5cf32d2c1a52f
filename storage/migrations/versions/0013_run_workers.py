"""run workers: each machine's part in a distributed crawl run, and which worker wrote a capture

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 18:45:00

A new table, `run_workers` (one row per worker of a run: when it joined and finished, how its part
ended, its counts and raw health counts), and `captures.worker` (NULL for the captures before, and for
every capture of a single-machine crawl). Nothing stored changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.migrations.frozen.types import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# storage.outcomes.WORKER_STATUSES, in its order, when this migration was written.
WORKER_STATUSES = ("ok", "failed", "timeout", "interrupted")


def one_of(column: str, values: Sequence[str]) -> str:
    """The constraint's condition, as storage.models.one_of wrote it then."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "run_workers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=200), nullable=False),
        sa.Column("joined_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("health_counts", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(one_of("status", WORKER_STATUSES), name=op.f("ck_run_workers_status")),
        sa.ForeignKeyConstraint(["run_id"], ["crawl_runs.id"], name=op.f("fk_run_workers_run_id_crawl_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_workers")),
        sa.UniqueConstraint("run_id", "worker", name=op.f("uq_run_workers_run_id_worker")),
    )
    with op.batch_alter_table("run_workers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_run_workers_run_id"), ["run_id"], unique=False)
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worker", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.drop_column("worker")
    op.drop_table("run_workers")
