"""event webhooks: a project's endpoints, and the endpoint and event of a webhook job

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 00:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from octotp_core.store.models import UTCDateTime

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('octotp_webhook_endpoints',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('secret_sealed', sa.String(length=512), nullable=False),
    sa.Column('events', sa.String(length=512), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['octotp_projects.id'], name=op.f('fk_octotp_webhook_endpoints_project_id_octotp_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_octotp_webhook_endpoints'))
    )
    with op.batch_alter_table('octotp_webhook_endpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_octotp_webhook_endpoints_project_id'), ['project_id'], unique=False)
    # Plain ADD COLUMN, never a batch copy of the table (see 0004).
    op.add_column('octotp_jobs', sa.Column('endpoint_id', sa.String(length=36), nullable=True))
    op.add_column('octotp_jobs', sa.Column('event_type', sa.String(length=40), nullable=True))
    op.create_index(op.f('ix_octotp_jobs_endpoint_id'), 'octotp_jobs', ['endpoint_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_octotp_jobs_endpoint_id'), table_name='octotp_jobs')
    op.drop_column('octotp_jobs', 'event_type')
    op.drop_column('octotp_jobs', 'endpoint_id')
    op.drop_table('octotp_webhook_endpoints')
