"""task_draft: form data a task's holder saved without completing; app_user.disabled

A draft belongs to one user and one inbox row: it is never validated, never part of the case's
state or history, and is deleted when the task is completed. Disabled users cannot sign in or act.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import workflow.store

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_draft",
        sa.Column("human_task_id", sa.Integer(), sa.ForeignKey("human_task.id"), primary_key=True),
        sa.Column("user_name", sa.String(length=100), primary_key=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("saved_at", workflow.store.UTCDateTime(), nullable=False),
    )
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("disabled")
    op.drop_table("task_draft")
