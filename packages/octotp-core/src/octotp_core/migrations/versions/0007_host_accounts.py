"""host accounts: the host app's user id on the account that stands for it (dashboard host login)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 20:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN and CREATE UNIQUE INDEX, never a batch copy of the parent table (see 0004).
    op.add_column('octotp_accounts', sa.Column('external_id', sa.String(length=200), nullable=True))
    op.create_index(op.f('ix_octotp_accounts_external_id'), 'octotp_accounts', ['external_id'], unique=True)


def downgrade() -> None:
    op.drop_index(op.f('ix_octotp_accounts_external_id'), table_name='octotp_accounts')
    op.drop_column('octotp_accounts', 'external_id')
