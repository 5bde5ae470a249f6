"""fhir resources: planner statistics for SQLite (an organization owns many resources)

Without rows in ``sqlite_stat1`` for ``fhir_resources``, SQLite takes an equality on
``owner_org_id`` for a selective one and reads every resource of the organization to find the
few whose identifiers a message names (a lab's lookup grew with every result it had sent).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

ROWS = 1_000_000
# index -> average rows per distinct value of its leading columns, as in a large alliance:
# 30 resource types; a resource type and id is one; 50 organizations.
STATISTICS = {
    "sqlite_autoindex_fhir_resources_1": [ROWS // 30, 1],
    "ix_fhir_resources_type_updated": [ROWS // 30, 2],
    "ix_fhir_resources_owner_org_id": [ROWS // 50],
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("ANALYZE sqlite_schema")  # creates sqlite_stat1 if it is not there
    for index, averages in STATISTICS.items():
        op.execute(
            sa.text(
                "INSERT INTO sqlite_stat1 (tbl, idx, stat) SELECT 'fhir_resources', :i, :s"
                " WHERE NOT EXISTS (SELECT 1 FROM sqlite_stat1 WHERE idx = :i)"
            ).bindparams(i=index, s=" ".join(str(n) for n in (ROWS, *averages)))
        )
    op.execute("ANALYZE sqlite_schema")  # loads them


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(sa.text("DELETE FROM sqlite_stat1 WHERE tbl = 'fhir_resources'"))
