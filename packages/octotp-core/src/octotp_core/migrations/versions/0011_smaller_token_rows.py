"""smaller token rows: the recipient digest as 32 raw bytes, the token id as PostgreSQL's uuid

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 13:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

HEX = sa.String(length=64)


def _sqlite_unhex(value: bytes | str | None) -> bytes | None:
    """SQLite before 3.41 has no ``unhex()``: the converted column's text, read as bytes, decoded."""
    if value is None:
        return None
    return bytes.fromhex(value.decode('ascii') if isinstance(value, bytes) else value)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        # In place: PostgreSQL rewrites the table and rebuilds its indexes in the one ALTER.
        op.alter_column('octotp_tokens', 'recipient_digest', existing_type=HEX, type_=postgresql.BYTEA(),
                        postgresql_using="decode(recipient_digest, 'hex')", existing_nullable=False)
        op.alter_column('octotp_tokens', 'id', existing_type=sa.String(length=36), type_=postgresql.UUID(),
                        postgresql_using='id::uuid', existing_nullable=False)
    elif dialect in ('mysql', 'mariadb'):
        # The hex text as bytes first (a byte per character), then each value unhexed, then narrowed.
        op.alter_column('octotp_tokens', 'recipient_digest', existing_type=HEX, type_=mysql.VARBINARY(64),
                        existing_nullable=False)
        op.execute('UPDATE octotp_tokens SET recipient_digest = UNHEX(recipient_digest)')
        op.alter_column('octotp_tokens', 'recipient_digest', existing_type=mysql.VARBINARY(64),
                        type_=mysql.BINARY(32), existing_nullable=False)
    else:
        # A batch copy of octotp_tokens is safe (no foreign key points at it); the copy casts the
        # text to a BLOB of its characters, which the UPDATE then decodes.
        with op.batch_alter_table('octotp_tokens', schema=None) as batch_op:
            batch_op.alter_column('recipient_digest', existing_type=HEX, type_=sa.LargeBinary(length=32),
                                  existing_nullable=False)
        op.get_bind().connection.driver_connection.create_function(  # type: ignore[union-attr]
            'octotp_unhex', 1, _sqlite_unhex, deterministic=True
        )
        op.execute('UPDATE octotp_tokens SET recipient_digest = octotp_unhex(recipient_digest)')


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.alter_column('octotp_tokens', 'id', existing_type=postgresql.UUID(), type_=sa.String(length=36),
                        postgresql_using='id::text', existing_nullable=False)
        op.alter_column('octotp_tokens', 'recipient_digest', existing_type=postgresql.BYTEA(), type_=HEX,
                        postgresql_using="encode(recipient_digest, 'hex')", existing_nullable=False)
    elif dialect in ('mysql', 'mariadb'):
        op.alter_column('octotp_tokens', 'recipient_digest', existing_type=mysql.BINARY(32),
                        type_=mysql.VARBINARY(64), existing_nullable=False)
        op.execute('UPDATE octotp_tokens SET recipient_digest = LOWER(HEX(recipient_digest))')
        op.alter_column('octotp_tokens', 'recipient_digest', existing_type=mysql.VARBINARY(64), type_=HEX,
                        existing_nullable=False)
    else:
        op.execute('UPDATE octotp_tokens SET recipient_digest = lower(hex(recipient_digest))')
        with op.batch_alter_table('octotp_tokens', schema=None) as batch_op:
            batch_op.alter_column('recipient_digest', existing_type=sa.LargeBinary(length=32), type_=HEX,
                                  existing_nullable=False)
