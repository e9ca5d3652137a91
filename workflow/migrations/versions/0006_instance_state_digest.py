"""instance.state_digest: the state digest of the newest event, kept on the case's row

A claim or a release changes no workflow state and records the newest event's digest again; with
the digest on the row it no longer loads the case to compute it. Filled from each case's newest
event.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instance") as batch:
        batch.add_column(sa.Column("state_digest", sa.String(length=64), nullable=False, server_default=""))
    instance = sa.table("instance", sa.column("id", sa.Integer), sa.column("event_count", sa.Integer),
                        sa.column("state_digest", sa.String))
    event = sa.table("history_event", sa.column("instance_id", sa.Integer), sa.column("seq", sa.Integer),
                     sa.column("state_digest", sa.String))
    newest = (sa.select(event.c.state_digest)
              .where(event.c.instance_id == instance.c.id, event.c.seq == instance.c.event_count)
              .scalar_subquery())
    op.get_bind().execute(sa.update(instance).where(instance.c.event_count > 0).values(state_digest=newest))


def downgrade() -> None:
    with op.batch_alter_table("instance") as batch:
        batch.drop_column("state_digest")
