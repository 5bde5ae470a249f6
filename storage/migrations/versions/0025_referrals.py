"""referral_steps: each referral's steps (双向转诊); referral_shares: what a referral shares
with the receiving organization; alliances' green-channel acceptance time

Revision ID: 0025_referrals
Revises: 0024_booking
Create Date: 2026-12-02 11:50:00
"""

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0025_referrals"
down_revision = "0024_booking"
branch_labels = None
depends_on = None

_STEPS = ("accepted", "declined", "arrived", "completed", "cancelled")


def upgrade() -> None:
    op.create_table(
        "referral_steps",
        sa.Column("task_id", sa.String(64), primary_key=True),
        sa.Column("referral_id", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("referrer_org_id", sa.String(64), nullable=False),
        sa.Column("receiver_org_id", sa.String(64), nullable=False),
        sa.Column("booked", sa.Boolean(), nullable=False),
        sa.Column("referred_at", UTCDateTime(), nullable=False),
        sa.Column("accept_due_at", UTCDateTime(), nullable=True),
        *[
            column
            for step in _STEPS
            for column in (
                sa.Column(f"{step}_at", UTCDateTime(), nullable=True),
                sa.Column(f"{step}_by", sa.String(64), nullable=True),
            )
        ],
        sa.Column("escalated_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_referral_steps_referral", "referral_steps", ["referral_id"])
    op.create_index(
        "ix_referral_steps_receiver", "referral_steps", ["receiver_org_id", "referred_at"]
    )
    op.create_index(
        "ix_referral_steps_referrer", "referral_steps", ["referrer_org_id", "referred_at"]
    )
    op.create_table(
        "referral_shares",
        sa.Column("resource_type", sa.String(64), primary_key=True),
        sa.Column("resource_id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), primary_key=True),
        sa.Column("referral_id", sa.String(64), primary_key=True),
    )
    with op.batch_alter_table("alliances") as batch:
        batch.add_column(sa.Column("green_channel_minutes", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alliances") as batch:
        batch.drop_column("green_channel_minutes")
    op.drop_table("referral_shares")
    op.drop_table("referral_steps")
