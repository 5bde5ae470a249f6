"""token signing keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 23:00:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "token_signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("private_pem", sa.Text(), nullable=False),
        sa.Column("created_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_token_signing_keys")),
    )
    op.create_index(op.f("ix_token_signing_keys_created_at"), "token_signing_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_token_signing_keys_created_at"), table_name="token_signing_keys")
    op.drop_table("token_signing_keys")
