"""instance.data_merge: how a case merges task data

Cases started from now on merge task data without changing what earlier tasks hold ("copy",
``workflow.adapters.spiff.merge_data``). Cases already stored were run with SpiffWorkflow's own
merge, and their recorded states were computed with it: they are marked "library" and keep it, so
that their history still replays. Their start events record no ``data_merge``, which replay reads
the same way.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instance") as batch:
        batch.add_column(sa.Column("data_merge", sa.String(length=10), server_default="library", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("instance") as batch:
        batch.drop_column("data_merge")
