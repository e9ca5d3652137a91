"""stored cases in SpiffWorkflow's own format: task rows and meta become its converters' dicts

See ``workflow.stored_format``. Rows are converted in batches, each row once: a row already in
the new format is left as it is, so the migration can be run again after an interruption.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 15:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BATCH = 2_000


def upgrade() -> None:
    # imported here, not at the top: alembic loads every revision to find the head, and checking a
    # database's schema (every CLI command) should not import SpiffWorkflow
    from workflow.stored_format import convert_body, convert_meta

    conn = op.get_bind()
    task_row = sa.table("task_row", sa.column("instance_id", sa.Integer), sa.column("task_id", sa.String),
                        sa.column("body", sa.Text))
    instance = sa.table("instance", sa.column("id", sa.Integer), sa.column("meta", sa.Text))
    update_row = (sa.update(task_row)
                  .where(task_row.c.instance_id == sa.bindparam("iid"), task_row.c.task_id == sa.bindparam("tid"))
                  .values(body=sa.bindparam("new_body")))
    last = (0, "")
    while True:
        rows = conn.execute(
            sa.select(task_row.c.instance_id, task_row.c.task_id, task_row.c.body)
            .where(sa.tuple_(task_row.c.instance_id, task_row.c.task_id) > sa.tuple_(*last))
            .order_by(task_row.c.instance_id, task_row.c.task_id).limit(BATCH)).all()
        if not rows:
            break
        changed = [{"iid": iid, "tid": tid, "new_body": convert_body(tid, body)} for iid, tid, body in rows]
        changed = [c for c, (_i, _t, body) in zip(changed, rows, strict=True) if c["new_body"] != body]
        if changed:
            conn.execute(update_row, changed)
        last = (rows[-1][0], rows[-1][1])
    for iid, meta in conn.execute(sa.select(instance.c.id, instance.c.meta)).all():
        new = convert_meta(meta)
        if new != meta:
            conn.execute(sa.update(instance).where(instance.c.id == iid).values(meta=new))


def downgrade() -> None:
    from workflow.stored_format import revert_case

    conn = op.get_bind()
    task_row = sa.table("task_row", sa.column("instance_id", sa.Integer), sa.column("task_id", sa.String),
                        sa.column("body", sa.Text))
    instance = sa.table("instance", sa.column("id", sa.Integer), sa.column("meta", sa.Text))
    for iid, meta in conn.execute(sa.select(instance.c.id, instance.c.meta)).all():
        bodies = dict(conn.execute(sa.select(task_row.c.task_id, task_row.c.body)
                                   .where(task_row.c.instance_id == iid)).all())
        old_meta, old_bodies = revert_case(meta, bodies)
        if old_meta == meta:
            continue
        conn.execute(sa.update(instance).where(instance.c.id == iid).values(meta=old_meta))
        for tid, body in old_bodies.items():
            conn.execute(sa.update(task_row).where(task_row.c.instance_id == iid, task_row.c.task_id == tid)
                         .values(body=body))
