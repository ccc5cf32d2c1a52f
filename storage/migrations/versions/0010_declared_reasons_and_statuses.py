"""The declared rejection reasons, run statuses and flag reasons: CHECK constraints on the columns that hold them

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 06:00:00

`rejections.reason`, `crawl_runs.status` and `articles.flag_reason` held words of an undeclared set; they
are now kept to the sets of storage.outcomes (Reason, RunStatus, FLAG_REASONS) as they are today, listed
here as they were when this migration was written. A NULL flag_reason (not flagged) passes.

Nothing stored changes. A row holding a word outside its set (written by something other than pairchive)
is neither rewritten nor lost: the upgrade refuses, naming the column, the words and how many rows hold
them, and the database stays at 0009 until they are corrected.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.migrations.frozen.errors import MigrationRefused

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# storage.outcomes.Reason, in its order, when this migration was written.
REASONS = (
    "not_pairing",
    "no_text",
    "duplicate",
    "unchanged",
    "failed",
    "not_html",
    "robots_disallowed",
    "too_large",
    "redirect_loop",
    "redirected",
    "unparsable",
    "xml_entities",
    "truncated",
    "scheme",
    "url_too_long",
    "private_address",
    "offsite",
    "retry_after",
    "dropped",
)
# storage.outcomes.RunStatus.
RUN_STATUSES = ("running", "ok", "failed", "timeout", "interrupted")
# storage.outcomes.FLAG_REASONS, sorted.
FLAG_REASONS = ("no_text", "not_pairing")

# (table, column, the values it may hold)
CONSTRAINED = (
    ("rejections", "reason", REASONS),
    ("crawl_runs", "status", RUN_STATUSES),
    ("articles", "flag_reason", FLAG_REASONS),
)
SHOWN = 5  # words named in the refusal at most


def one_of(column: str, values: Sequence[str]) -> str:
    """The constraint's condition, as storage.models.one_of wrote it then."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _outside(table: str, column: str, values: Sequence[str]) -> list[tuple[str, int]]:
    """The words `column` holds outside `values`, each with its number of rows, most frequent first."""
    t = sa.table(table, sa.column(column, sa.String))
    c = t.c[column]
    rows = op.get_bind().execute(
        sa.select(c, sa.func.count())
        .where(c.is_not(None), c.not_in(values))
        .group_by(c)
        .order_by(sa.func.count().desc(), c)
    )
    return [(str(word), int(n)) for word, n in rows]


def upgrade() -> None:
    for table, column, values in CONSTRAINED:
        if found := _outside(table, column, values):
            words = ", ".join(f"{word!r} ({n} row{'s' if n != 1 else ''})" for word, n in found[:SHOWN])
            more = f" and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
            raise MigrationRefused(
                f"migration 0010 cannot constrain {table}.{column}: it holds {words}{more}, not among "
                f"the values pairchive stores ({', '.join(values)}); correct or delete those rows, then "
                "open the archive again (nothing was changed)"
            )
    for table, column, values in CONSTRAINED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(
                batch_op.f(f"ck_{table}_{column}"), sa.text(one_of(column, values))
            )


def downgrade() -> None:
    for table, column, _ in CONSTRAINED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"ck_{table}_{column}"), type_="check")
