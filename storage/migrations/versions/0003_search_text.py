"""search text beside the text as published; content hashes over the simplified form

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 19:40:00

Every stored article gets its search form (simplified script, widths and spaces folded), and its content
hash and its revisions' hashes are recomputed the way the dedup stage now computes them, so a traditional
copy fetched later is recognised as a copy of a story stored before the upgrade. Where two stored articles
now fold to the same text (a copy stored twice under the old rule), the later keeps its old hash: nothing is
merged or dropped by a migration.
"""

import hashlib
import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.migrations.frozen.text import folded, search_form

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("alembic.runtime.migration")
BATCH = 1000


def _hash(text: str) -> str:
    return hashlib.sha256(folded(text).encode("utf-8")).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))

    bind = op.get_bind()
    articles = sa.table(
        "articles",
        sa.column("id", sa.Integer),
        sa.column("text", sa.Text),
        sa.column("search_text", sa.Text),
        sa.column("content_hash", sa.String),
    )
    revisions = sa.table(
        "article_revisions",
        sa.column("id", sa.Integer),
        sa.column("text", sa.Text),
        sa.column("content_hash", sa.String),
    )
    taken = set(bind.execute(sa.select(articles.c.content_hash)).scalars())
    last = 0
    while True:
        rows = bind.execute(
            sa.select(articles.c.id, articles.c.text, articles.c.content_hash)
            .where(articles.c.id > last)
            .order_by(articles.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        for article_id, text, old_hash in rows:
            new_hash = _hash(text)
            values: dict[str, str] = {"search_text": search_form(text)}
            if new_hash != old_hash:
                if new_hash in taken:
                    logger.warning("article %d folds to another stored article's text; hash kept", article_id)
                else:
                    taken.discard(old_hash)
                    taken.add(new_hash)
                    values["content_hash"] = new_hash
            bind.execute(sa.update(articles).where(articles.c.id == article_id).values(**values))
        last = rows[-1][0]
    last = 0
    while True:
        pairs = bind.execute(
            sa.select(revisions.c.id, revisions.c.text)
            .where(revisions.c.id > last)
            .order_by(revisions.c.id)
            .limit(BATCH)
        ).all()
        if not pairs:
            break
        for revision_id, text in pairs:
            bind.execute(
                sa.update(revisions).where(revisions.c.id == revision_id).values(content_hash=_hash(text))
            )
        last = pairs[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_column("search_text")
