"""timer_failure: why a case's due timers could not fire, kept until they do

A sweep that cannot fire a case's timers rolls the case back and goes on; this row keeps what went
wrong (how many times in a row, since when, the last error) so that operators and ``shanyu case
show`` can tell a stuck case from a waiting one. It is removed when the case's timers fire.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 22:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import workflow.store

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "timer_failure",
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("instance.id"), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_at", workflow.store.UTCDateTime(), nullable=False),
        sa.Column("last_at", workflow.store.UTCDateTime(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("timer_failure")
