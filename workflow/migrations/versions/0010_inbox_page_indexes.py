"""inbox pages: indexes for the tasks a user completed and for the sort by due date

The web inbox's third tab (the tasks I completed) read every completed row without
``ix_human_task_completed``; its default sort (due date first) sorted every row an admin may see
without ``ix_human_task_due``. Both grew with the table (bench/inbox_pages.py).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_human_task_completed", "human_task", ["completed_by", "state"],
                    sqlite_where=sa.text("completed_by IS NOT NULL"),
                    postgresql_where=sa.text("completed_by IS NOT NULL"))
    op.create_index("ix_human_task_due", "human_task", ["state", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_human_task_due", table_name="human_task")
    op.drop_index("ix_human_task_completed", table_name="human_task")
