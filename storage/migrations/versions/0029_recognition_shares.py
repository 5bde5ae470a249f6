"""recognition_shares: the prior results offered to an orderer for recognition (区域互认), so
that every later version keeps the orderer's grant

Revision ID: 0029_recognition_shares
Revises: 0028_mpi
Create Date: 2026-12-03 04:00:00
"""

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0029_recognition_shares"
down_revision = "0028_mpi"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recognition_shares",
        sa.Column("resource_type", sa.String(64), primary_key=True),
        sa.Column("resource_id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), primary_key=True),
        sa.Column("offered_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("recognition_shares")
