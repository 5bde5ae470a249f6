"""dicom_studies.study_id: 64 characters, so an over-long StudyID is indexed whole, not cut

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 04:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dicom_studies") as batch_op:
        batch_op.alter_column(
            "study_id", existing_type=sa.String(length=16), type_=sa.String(length=64)
        )


def downgrade() -> None:
    op.execute("UPDATE dicom_studies SET study_id = substr(study_id, 1, 16)")
    with op.batch_alter_table("dicom_studies") as batch_op:
        batch_op.alter_column(
            "study_id", existing_type=sa.String(length=64), type_=sa.String(length=16)
        )
