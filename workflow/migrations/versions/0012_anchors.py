"""anchor: signed statements of every case's chain head at a moment

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 16:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import workflow.store

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "anchor",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", workflow.store.UTCDateTime(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("case_count", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("anchor")
