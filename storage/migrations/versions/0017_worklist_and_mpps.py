"""Modality worklist and MPPS: each scheduled order's Study Instance UID, each performed step

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 05:40:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worklist_studies",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("study_uid", sa.String(length=64), nullable=False),
        sa.Column("created_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_worklist_studies")),
        sa.UniqueConstraint("study_uid", name=op.f("uq_worklist_studies_study_uid")),
    )
    op.create_table(
        "mpps_instances",
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("ae_title", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("procedure_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_mpps_instances_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("sop_instance_uid", name=op.f("pk_mpps_instances")),
    )


def downgrade() -> None:
    op.drop_table("mpps_instances")
    op.drop_table("worklist_studies")
