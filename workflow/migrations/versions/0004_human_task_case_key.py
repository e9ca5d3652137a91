"""inbox: one unique key (instance_id, task_id) instead of a unique task_id plus (instance_id, state)

A task's rows then lie with the rest of its case in one index, which also answers the lookups by
case; a completion touches two fewer index pages (docs/performance.md).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 20:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# SQLite keeps the old unique constraint unnamed; batch mode reflects it under this convention
_CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("human_task", naming_convention=_CONVENTION) as batch:
            batch.drop_constraint("uq_human_task_task_id", type_="unique")
            batch.drop_index("ix_human_task_instance")
            batch.create_unique_constraint("uq_human_task_task", ["instance_id", "task_id"])
    else:
        op.drop_constraint("human_task_task_id_key", "human_task", type_="unique")
        op.drop_index("ix_human_task_instance", table_name="human_task")
        op.create_unique_constraint("uq_human_task_task", "human_task", ["instance_id", "task_id"])


def downgrade() -> None:
    with op.batch_alter_table("human_task") as batch:
        batch.drop_constraint("uq_human_task_task", type_="unique")
        batch.create_index("ix_human_task_instance", ["instance_id", "state"])
        batch.create_unique_constraint("human_task_task_id_key", ["task_id"])
