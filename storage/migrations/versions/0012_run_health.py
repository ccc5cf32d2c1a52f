"""run health: the extraction health of each crawl run, and the `degraded` run status

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 12:00:00

`crawl_runs.health` (JSON, NULL for the runs before) holds a run's extraction health and the drift verdict
on it; `crawl_runs.status` may now also be `degraded` (an ok run whose health drifted from its source's
history). Nothing stored changes.

The downgrade gives a degraded run back its status before the verdict, `ok` (it ended by itself), and
drops the health column with the verdicts in it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# storage.outcomes.RunStatus, in its order, when this migration was written.
RUN_STATUSES = ("running", "ok", "failed", "timeout", "interrupted", "degraded")
# The set migration 0010 allowed.
BEFORE = ("running", "ok", "failed", "timeout", "interrupted")


def one_of(column: str, values: Sequence[str]) -> str:
    """The constraint's condition, as storage.models.one_of wrote it then."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _constrain(values: Sequence[str]) -> None:
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_crawl_runs_status"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_crawl_runs_status"), sa.text(one_of("status", values))
        )


def upgrade() -> None:
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("health", sa.JSON(), nullable=True))
    _constrain(RUN_STATUSES)


def downgrade() -> None:
    runs = sa.table("crawl_runs", sa.column("status", sa.String))
    op.get_bind().execute(sa.update(runs).where(runs.c.status == "degraded").values(status="ok"))
    _constrain(BEFORE)
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.drop_column("health")
