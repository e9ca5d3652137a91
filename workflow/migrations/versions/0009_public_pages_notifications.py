"""public_submission (objections and reports from the public pages), notification_read (the in-app
list's read marks), e-mail delivery columns on outbox, app_user.email

A submission keeps what a member of the public filed, its receipt number and the case it reached.
Delivery is at least once: every attempt is counted with its time and error, and ``sent_at`` is set
once a notification went out to every recipient.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import workflow.store

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")))
        batch.add_column(sa.Column("next_attempt_at", workflow.store.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("last_attempt_at", workflow.store.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("recipients", sa.Text(), nullable=True))
        batch.create_index("ix_outbox_role_district", ["role", "district"])
    op.create_table(
        "notification_read",
        sa.Column("outbox_id", sa.Integer(), sa.ForeignKey("outbox.id"), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), primary_key=True),
        sa.Column("read_at", workflow.store.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_notification_read_user_id", "notification_read", ["user_id"])
    op.create_table(
        "public_submission",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("receipt", sa.String(length=40), nullable=False, unique=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("notice_id", sa.Integer(), sa.ForeignKey("notice.id"), nullable=True),
        sa.Column("district", sa.String(length=20), nullable=True),
        sa.Column("ground", sa.String(length=50), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("instance.id"), nullable=True),
        sa.Column("created_at", workflow.store.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_public_submission_notice_id", "public_submission", ["notice_id"])
    op.create_index("ix_public_submission_instance_id", "public_submission", ["instance_id"])


def downgrade() -> None:
    op.drop_index("ix_public_submission_instance_id", table_name="public_submission")
    op.drop_index("ix_public_submission_notice_id", table_name="public_submission")
    op.drop_table("public_submission")
    op.drop_index("ix_notification_read_user_id", table_name="notification_read")
    op.drop_table("notification_read")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_role_district")
        for column in ("recipients", "last_error", "last_attempt_at", "next_attempt_at", "attempts"):
            batch.drop_column(column)
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("email")
