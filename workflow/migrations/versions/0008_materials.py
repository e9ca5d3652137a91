"""material, material_blob: files attached to cases, content-addressed

``material_blob`` holds each distinct content once (SHA-256); ``material`` records which case a
file was added to, by whom, when, under which name, its size and its sniffed media type.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import workflow.store

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "material_blob",
        sa.Column("sha256", sa.String(length=64), primary_key=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", workflow.store.UTCDateTime(), nullable=False),
    )
    op.create_table(
        "material",
        sa.Column("id", sa.String(length=66), primary_key=True),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("instance.id"), nullable=False),
        sa.Column("sha256", sa.String(length=64), sa.ForeignKey("material_blob.sha256"), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("uploaded_at", workflow.store.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("instance_id", "sha256", "filename", name="uq_material_case_content"),
    )
    op.create_index("ix_material_instance_id", "material", ["instance_id"])


def downgrade() -> None:
    op.drop_index("ix_material_instance_id", table_name="material")
    op.drop_table("material")
    op.drop_table("material_blob")
