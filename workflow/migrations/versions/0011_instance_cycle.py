"""instance.cycle_id: the creation cycle a case belongs to, for the inbox's cycle filter

A case's cycle is the ``cycle_id`` of its start data (the cycle case itself and the districts'
applications it starts carry one; title management and revocation cases may not). Filled from
each case's first history event, whose payload holds the start data.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 16:10:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def cycle_of(payload_text: str) -> str | None:
    try:
        payload = json.loads(payload_text)
    except ValueError:
        return None
    data = payload.get("data") if isinstance(payload, dict) else None
    value = data.get("cycle_id") if isinstance(data, dict) else None
    return str(value)[:100] if isinstance(value, str | int) and not isinstance(value, bool) and str(value) else None


def upgrade() -> None:
    with op.batch_alter_table("instance") as batch:
        batch.add_column(sa.Column("cycle_id", sa.String(length=100), nullable=True))
        batch.create_index("ix_instance_cycle_id", ["cycle_id"])
    bind = op.get_bind()
    instance = sa.table("instance", sa.column("id", sa.Integer), sa.column("cycle_id", sa.String))
    event = sa.table("history_event", sa.column("instance_id", sa.Integer), sa.column("seq", sa.Integer),
                     sa.column("payload", sa.Text))
    rows = bind.execute(sa.select(event.c.instance_id, event.c.payload).where(event.c.seq == 1)).all()
    for instance_id, payload in rows:
        cycle = cycle_of(payload)
        if cycle is not None:
            bind.execute(sa.update(instance).where(instance.c.id == instance_id).values(cycle_id=cycle))


def downgrade() -> None:
    with op.batch_alter_table("instance") as batch:
        batch.drop_index("ix_instance_cycle_id")
        batch.drop_column("cycle_id")
