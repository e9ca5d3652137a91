"""inbox: the claimed-tasks index covers claimed rows only

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 19:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("human_task") as batch:
        batch.drop_index("ix_human_task_claimed")
    op.create_index("ix_human_task_claimed", "human_task", ["claimed_by", "state"],
                    sqlite_where=sa.text("claimed_by IS NOT NULL"),
                    postgresql_where=sa.text("claimed_by IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_human_task_claimed", table_name="human_task")
    op.create_index("ix_human_task_claimed", "human_task", ["claimed_by", "state"])
