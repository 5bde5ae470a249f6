"""mpi_records, mpi_keys, mpi_links: the master patient index — what is compared of each
member's Patient, its blocking keys, and its links to a person (MATCH / POSSIBLE_MATCH /
NO_MATCH)

Revision ID: 0028_mpi
Revises: 0027_recognition
Create Date: 2026-12-02 15:00:00
"""

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0028_mpi"
down_revision = "0027_recognition"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mpi_records",
        sa.Column("patient_id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64)),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "mpi_keys",
        sa.Column("key", sa.String(160), primary_key=True),
        sa.Column("patient_id", sa.String(64), primary_key=True),
    )
    op.create_index("ix_mpi_keys_patient_id", "mpi_keys", ["patient_id"])
    op.create_table(
        "mpi_links",
        sa.Column("patient_id", sa.String(64), primary_key=True),
        sa.Column("person_id", sa.String(64), primary_key=True),
        sa.Column("grade", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("score", sa.Float()),
        sa.Column("made_by", sa.String(64), nullable=False),
        sa.Column("made_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_mpi_links_person", "mpi_links", ["person_id", "grade"])
    reviewed = sa.text("grade != 'MATCH'")
    op.create_index("ix_mpi_links_review", "mpi_links", ["grade", "made_at"],
                    sqlite_where=reviewed, postgresql_where=reviewed)  # fmt: skip


def downgrade() -> None:
    op.drop_table("mpi_links")
    op.drop_table("mpi_keys")
    op.drop_table("mpi_records")
