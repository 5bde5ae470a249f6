"""subscription pings: notifications for websocket Subscriptions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 03:00:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscription_pings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", storage.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_pings")),
    )
    op.create_index(
        op.f("ix_subscription_pings_subscription_id"), "subscription_pings", ["subscription_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_subscription_pings_subscription_id"), table_name="subscription_pings")
    op.drop_table("subscription_pings")
