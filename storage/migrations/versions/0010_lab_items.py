"""lab items: each lab's catalogue (local code -> LOINC, critical limits)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lab_items",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("loinc", sa.String(length=16), nullable=True),
        sa.Column("loinc_display", sa.String(length=200), nullable=True),
        sa.Column("unit", sa.String(length=32), nullable=True),
        sa.Column("critical_low", sa.Float(), nullable=True),
        sa.Column("critical_high", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_lab_items_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("org_id", "code", name=op.f("pk_lab_items")),
    )


def downgrade() -> None:
    op.drop_table("lab_items")
