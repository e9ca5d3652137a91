"""program registers: public notices, the title register and its changes, the outbox

Tables of ``workflow.registers`` (written by the programme's handlers).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 18:36:59.567640
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import workflow.store

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('published_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('workdays', sa.Integer(), nullable=False),
    sa.Column('candidates', sa.Text(), nullable=False),
    sa.Column('final', sa.Text(), nullable=False),
    sa.Column('objections', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('published_at', workflow.store.UTCDateTime(), nullable=False),
    sa.Column('closed_at', workflow.store.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['instance.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_instance_id'), ['instance_id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('role', sa.String(length=200), nullable=False),
    sa.Column('district', sa.String(length=20), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('task', sa.String(length=200), nullable=False),
    sa.Column('created_at', workflow.store.UTCDateTime(), nullable=False),
    sa.Column('sent_at', workflow.store.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['instance.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_outbox_unsent', ['sent_at', 'id'], unique=False)

    op.create_table('title',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('district', sa.String(length=20), nullable=False),
    sa.Column('district_name', sa.String(length=100), nullable=False),
    sa.Column('cycle_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('named_on', sa.Date(), nullable=False),
    sa.Column('document', sa.String(length=200), nullable=False),
    sa.Column('revoked_on', sa.Date(), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', workflow.store.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['instance.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('title', schema=None) as batch_op:
        batch_op.create_index('ix_title_district_status', ['district', 'status'], unique=False)

    op.create_table('title_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('document', sa.String(length=200), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('task', sa.String(length=200), nullable=False),
    sa.Column('at', workflow.store.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['instance.id'], ),
    sa.ForeignKeyConstraint(['title_id'], ['title.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('title_id', 'seq', name='uq_title_change_seq')
    )
    with op.batch_alter_table('title_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_title_change_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_title_change_title_id'), ['title_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('title_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_title_change_title_id'))
        batch_op.drop_index(batch_op.f('ix_title_change_instance_id'))

    op.drop_table('title_change')
    with op.batch_alter_table('title', schema=None) as batch_op:
        batch_op.drop_index('ix_title_district_status')

    op.drop_table('title')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_unsent')
        batch_op.drop_index(batch_op.f('ix_outbox_instance_id'))

    op.drop_table('outbox')
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_instance_id'))
        batch_op.drop_index(batch_op.f('ix_notice_cycle_id'))

    op.drop_table('notice')
