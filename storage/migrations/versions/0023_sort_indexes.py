"""Sorted search pages read in index order; per-resource search checks from the index alone

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 08:30:00
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

# The per-resource index of each table, and the values it now carries.
COVERED = {
    "fhir_index_token": ("code", "system"),
    "fhir_index_string": ("value",),
    "fhir_index_reference": ("target",),
    "fhir_index_date": ("low", "high"),
}
OWNER = ("resource_type", "resource_id", "param")


def upgrade() -> None:
    for table, values in COVERED.items():
        op.drop_index(f"ix_{table}_resource", table_name=table)
        op.create_index(f"ix_{table}_resource", table, [*OWNER, *values])
    for end, other in (("low", "high"), ("high", "low")):
        op.create_index(
            f"ix_fhir_index_date_sort_{end}",
            "fhir_index_date",
            ["resource_type", "param", end, "resource_id", other, "wide"],
        )


def downgrade() -> None:
    for end in ("low", "high"):
        op.drop_index(f"ix_fhir_index_date_sort_{end}", table_name="fhir_index_date")
    for table in COVERED:
        op.drop_index(f"ix_{table}_resource", table_name=table)
        op.create_index(f"ix_{table}_resource", table, list(OWNER))
