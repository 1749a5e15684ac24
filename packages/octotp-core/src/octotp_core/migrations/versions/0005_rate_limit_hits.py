"""rate-limit hits (the database:// rate-limit storage)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 11:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('octotp_rate_limit_hits',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('hit_at', sa.Double(), nullable=False),
    sa.Column('expires_at', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_octotp_rate_limit_hits'))
    )
    with op.batch_alter_table('octotp_rate_limit_hits', schema=None) as batch_op:
        batch_op.create_index('ix_octotp_rate_limit_hits_key_hit_at', ['key', 'hit_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_octotp_rate_limit_hits_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_table('octotp_rate_limit_hits')
