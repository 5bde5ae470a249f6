"""recognition_items: the alliance's recognition catalogue (互认项目目录); qualifications: its
members' QC / EQA passes; recognition_decisions: recognised or repeated, per offered prior;
recognition_cards: the CDS Hooks cards offered, for their feedback

Revision ID: 0027_recognition
Revises: 0026_charges
Create Date: 2026-12-02 15:30:00
"""

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0027_recognition"
down_revision = "0026_charges"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(12, 2)


def upgrade() -> None:
    op.create_table(
        "recognition_items",
        sa.Column("alliance_id", sa.String(64), sa.ForeignKey("alliances.id"), primary_key=True),
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("qc_group", sa.String(64), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("mark", sa.String(16), nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("matches", sa.JSON(), nullable=False),
    )
    op.create_table(
        "qualifications",
        sa.Column("org_id", sa.String(64), sa.ForeignKey("organizations.id"), primary_key=True),
        sa.Column("qc_group", sa.String(64), primary_key=True),
        sa.Column("valid_from", sa.Date(), primary_key=True),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("programme", sa.String(200), nullable=False),
    )
    op.create_table(
        "recognition_decisions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("alliance_id", sa.String(64), nullable=False),
        sa.Column("item_code", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("prior_org_id", sa.String(64), nullable=False),
        sa.Column("order_ref", sa.String(128), nullable=False),
        sa.Column("prior_ref", sa.String(128), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32)),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_recognition_decisions_org", "recognition_decisions", ["org_id", "decided_at"]
    )

    op.create_table(
        "recognition_cards",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("suggestion_id", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("order", sa.JSON(), nullable=False),
        sa.Column("prior_ref", sa.String(128), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("recognition_cards")
    op.drop_table("recognition_decisions")
    op.drop_table("qualifications")
    op.drop_table("recognition_items")
