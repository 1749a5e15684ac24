"""project setting validate_requires_key

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 11:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing projects get false: integrations written for the Octotp API validate without a key and
    # must keep working. New projects are created with true by octotp itself (the server default only
    # covers writers that do not know the column, such as an older octotp during a rolling upgrade).
    op.add_column(
        'octotp_projects',
        sa.Column('validate_requires_key', sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+), never a batch table copy: copying octotp_projects on SQLite
    # drops the original, and with foreign keys on that would cascade to every key and token.
    op.drop_column('octotp_projects', 'validate_requires_key')
