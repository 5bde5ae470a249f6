"""remote_services: the alliance's remote-service catalogue; charges: one per completed
service, for the monthly settlement between members

Revision ID: 0026_charges
Revises: 0025_referrals
Create Date: 2026-12-02 11:40:00
"""

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0026_charges"
down_revision = "0025_referrals"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(12, 2)


def upgrade() -> None:
    op.create_table(
        "remote_services",
        sa.Column("alliance_id", sa.String(64), sa.ForeignKey("alliances.id"), primary_key=True),
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("centre_id", sa.String(64), sa.ForeignKey("centres.id"), nullable=False),
        sa.Column("performer_roles", sa.JSON(), nullable=False),
        sa.Column("turnaround_hours", sa.Integer(), nullable=False),
        sa.Column("fee", MONEY, nullable=False),
        sa.Column("basis", sa.String(16), nullable=False),
        sa.Column("matches", sa.JSON(), nullable=False),
    )
    op.create_table(
        "charges",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("alliance_id", sa.String(64), nullable=False),
        sa.Column("service_code", sa.String(64), nullable=False),
        sa.Column("service_name", sa.String(200), nullable=False),
        sa.Column("basis", sa.String(16), nullable=False),
        sa.Column("requesting_org_id", sa.String(64), nullable=False),
        sa.Column("performing_org_id", sa.String(64), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_fee", MONEY, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("source", "service_code", name="uq_charges_source_service"),
    )
    op.create_index("ix_charges_requesting", "charges", ["requesting_org_id", "occurred_at"])
    op.create_index("ix_charges_performing", "charges", ["performing_org_id", "occurred_at"])


def downgrade() -> None:
    op.drop_table("charges")
    op.drop_table("remote_services")
