"""the console: operators, verified accounts, suspended projects, team members, invitations, audit log

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 17:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from octotp_core.store.models import UTCDateTime

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD/DROP COLUMN, never a batch table copy: copying a parent table on SQLite drops the
    # original, and with foreign keys on that would cascade to every key, token and session (0004).
    op.add_column('octotp_accounts', sa.Column('is_operator', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('octotp_accounts', sa.Column('verified_at', UTCDateTime(), nullable=True))
    # Every account so far was made by an operator (CLI, setup link, Django admin): verified.
    op.execute("UPDATE octotp_accounts SET verified_at = created_at")
    op.add_column('octotp_projects', sa.Column('suspended_at', UTCDateTime(), nullable=True))

    op.create_table('octotp_project_members',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['octotp_accounts.id'], name=op.f('fk_octotp_project_members_account_id_octotp_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['octotp_projects.id'], name=op.f('fk_octotp_project_members_project_id_octotp_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_octotp_project_members')),
    sa.UniqueConstraint('project_id', 'account_id', name='uq_octotp_project_members_project_account')
    )
    with op.batch_alter_table('octotp_project_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_octotp_project_members_account_id'), ['account_id'], unique=False)

    op.create_table('octotp_invitations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('invited_by', sa.String(length=36), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=False),
    sa.Column('accepted_at', UTCDateTime(), nullable=True),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['invited_by'], ['octotp_accounts.id'], name=op.f('fk_octotp_invitations_invited_by_octotp_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['octotp_projects.id'], name=op.f('fk_octotp_invitations_project_id_octotp_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_octotp_invitations')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_octotp_invitations_token_digest'))
    )
    with op.batch_alter_table('octotp_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_octotp_invitations_invited_by'), ['invited_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_octotp_invitations_project_id'), ['project_id'], unique=False)

    op.create_table('octotp_audit_events',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('actor_id', sa.String(length=36), nullable=True),
    sa.Column('actor', sa.String(length=320), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=True),
    sa.Column('account_id', sa.String(length=36), nullable=True),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_octotp_audit_events'))
    )
    with op.batch_alter_table('octotp_audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_octotp_audit_events_account_at', ['account_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_octotp_audit_events_at'), ['at'], unique=False)
        batch_op.create_index('ix_octotp_audit_events_project_at', ['project_id', 'at'], unique=False)


def downgrade() -> None:
    op.drop_table('octotp_audit_events')
    op.drop_table('octotp_invitations')
    op.drop_table('octotp_project_members')
    op.drop_column('octotp_projects', 'suspended_at')
    op.drop_column('octotp_accounts', 'verified_at')
    op.drop_column('octotp_accounts', 'is_operator')
