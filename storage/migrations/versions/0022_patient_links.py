"""patient_links: expiring, revocable links to a signed report for the patient (云胶片)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 06:00:00
"""

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patient_links",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("report_id", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_patient_links_report_id", "patient_links", ["report_id"])


def downgrade() -> None:
    op.drop_table("patient_links")
