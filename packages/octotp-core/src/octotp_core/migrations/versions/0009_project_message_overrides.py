"""project message overrides: a project's own sender name, reply-to, subject and bodies (JSON text)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, never a batch copy of the parent table (see 0004).
    column_type = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql', 'mariadb')
    op.add_column('octotp_projects', sa.Column('message_overrides', column_type, nullable=True))


def downgrade() -> None:
    op.drop_column('octotp_projects', 'message_overrides')
