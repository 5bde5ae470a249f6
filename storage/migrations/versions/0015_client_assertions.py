"""SMART Backend Services: API clients with public keys (and no secret), used assertions

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 04:00:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_clients") as batch_op:
        batch_op.add_column(sa.Column("jwks", sa.JSON(), nullable=True))
        batch_op.alter_column("secret_hash", existing_type=sa.String(length=255), nullable=True)
    op.create_table(
        "client_assertions",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("jti", sa.String(length=255), nullable=False),
        sa.Column("expires_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "jti", name=op.f("pk_client_assertions")),
    )
    op.create_index(op.f("ix_client_assertions_expires_at"), "client_assertions", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_client_assertions_expires_at"), table_name="client_assertions")
    op.drop_table("client_assertions")
    op.execute("DELETE FROM api_clients WHERE secret_hash IS NULL")
    with op.batch_alter_table("api_clients") as batch_op:
        batch_op.alter_column("secret_hash", existing_type=sa.String(length=255), nullable=False)
        batch_op.drop_column("jwks")
