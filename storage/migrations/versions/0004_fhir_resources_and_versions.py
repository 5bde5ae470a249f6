"""fhir resources and their versions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 23:45:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _columns(content_nullable: bool) -> list[sa.Column]:
    return [
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("last_updated", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("owner_org_id", sa.String(length=64), nullable=True),
        sa.Column("content", sa.JSON(), nullable=content_nullable),
    ]


def upgrade() -> None:
    op.create_table(
        "fhir_resource_versions",
        *_columns(content_nullable=True),
        sa.PrimaryKeyConstraint(
            "resource_type", "id", "version_id", name=op.f("pk_fhir_resource_versions")
        ),
    )
    op.create_table(
        "fhir_resources",
        *_columns(content_nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_fhir_resources_owner_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("resource_type", "id", name=op.f("pk_fhir_resources")),
    )
    op.create_index(op.f("ix_fhir_resources_owner_org_id"), "fhir_resources", ["owner_org_id"])
    op.create_index(
        "ix_fhir_resources_type_updated", "fhir_resources", ["resource_type", "last_updated"]
    )


def downgrade() -> None:
    op.drop_index("ix_fhir_resources_type_updated", table_name="fhir_resources")
    op.drop_index(op.f("ix_fhir_resources_owner_org_id"), table_name="fhir_resources")
    op.drop_table("fhir_resources")
    op.drop_table("fhir_resource_versions")
