"""fhir resource grants: organizations besides the owner that may see a resource

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 02:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fhir_resource_grants",
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint(
            "resource_type", "resource_id", "org_id", name=op.f("pk_fhir_resource_grants")
        ),
    )


def downgrade() -> None:
    op.drop_table("fhir_resource_grants")
