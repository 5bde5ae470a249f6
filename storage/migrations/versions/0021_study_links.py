"""study_links: studies linked to their orders by a person, or candidates for confirmation

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 05:50:00
"""

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "study_links",
        sa.Column("study_uid", sa.String(64), primary_key=True),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("linked_by", sa.String(64), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_study_links_order_id", "study_links", ["order_id"])


def downgrade() -> None:
    op.drop_table("study_links")
