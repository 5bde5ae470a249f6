"""slot_bookings: the appointment holding each booked slot (one per slot); centres' booking
rules

Revision ID: 0024_booking
Revises: 0023
Create Date: 2026-12-02 09:30:00
"""

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0024_booking"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slot_bookings",
        sa.Column("slot_id", sa.String(64), primary_key=True),
        sa.Column("appointment_id", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("booked_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_slot_bookings_appointment_id", "slot_bookings", ["appointment_id"])
    with op.batch_alter_table("centres") as batch:
        batch.add_column(sa.Column("booking_rules", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("centres") as batch:
        batch.drop_column("booking_rules")
    op.drop_table("slot_bookings")
