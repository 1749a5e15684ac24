"""the outbox: jobs that send codes and event webhooks

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 21:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from octotp_core.store.models import UTCDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('octotp_jobs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('token_id', sa.String(length=36), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('due_at', UTCDateTime(), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.Column('provider_id', sa.String(length=64), nullable=True),
    sa.Column('sent_at', UTCDateTime(), nullable=True),
    sa.Column('delivered_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['octotp_projects.id'], name=op.f('fk_octotp_jobs_project_id_octotp_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_octotp_jobs'))
    )
    with op.batch_alter_table('octotp_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_octotp_jobs_state_due', ['state', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_octotp_jobs_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_octotp_jobs_token_id'), ['token_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_octotp_jobs_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_octotp_jobs_provider_id'), ['provider_id'], unique=False)


def downgrade() -> None:
    op.drop_table('octotp_jobs')
