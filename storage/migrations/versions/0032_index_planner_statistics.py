"""fhir index tables: planner statistics for the indexes 0023 made (SQLite)

Migration 0005 gave SQLite's planner statistics for the search index (``sqlite_stat1``: a
million rows, a few per value) until ``PRAGMA optimize`` measures real ones.  0023 then made the
per-resource indexes anew and added the date sort indexes, and an index without a row there is
taken by SQLite for one whose first columns pick out ~10 rows.  So a date window of the
worklist (``storage.fhir.worklist``) was read through ``ix_fhir_index_date_sort_high`` from the
window's start to the newest row (every order scheduled after it) instead of one range of
``ix_fhir_index_date_low``: 1.4 ms against 0.13 over 5,000 orders, growing with the future
orders.  These rows describe the indexes as 0005 does the others; a measured row is kept.

Revision ID: 0032_index_planner_statistics
Revises: 0031_daily_columns
Create Date: 2026-12-05 08:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0032_index_planner_statistics"
down_revision = "0031_daily_columns"
branch_labels = None
depends_on = None

ROWS = 1_000_000
# (table, index) -> average rows per distinct value of its leading columns: 10 resource types,
# a resource has a few rows per parameter, 50 parameters, a few rows per value.
PER_RESOURCE = [ROWS // 10, 10, 2, 1]
STATISTICS = {
    ("fhir_index_token", "ix_fhir_index_token_resource"): [*PER_RESOURCE, 1],
    ("fhir_index_string", "ix_fhir_index_string_resource"): PER_RESOURCE,
    ("fhir_index_reference", "ix_fhir_index_reference_resource"): PER_RESOURCE,
    ("fhir_index_date", "ix_fhir_index_date_resource"): [*PER_RESOURCE, 1],
    # resource_type, param, the end's value, resource_id, the other end, wide
    ("fhir_index_date", "ix_fhir_index_date_sort_low"): [ROWS // 10, ROWS // 50, 5, 1, 1, 1],
    ("fhir_index_date", "ix_fhir_index_date_sort_high"): [ROWS // 10, ROWS // 50, 5, 1, 1, 1],
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("ANALYZE sqlite_schema")  # creates sqlite_stat1 if it is not there
    for (table, index), averages in STATISTICS.items():
        op.execute(
            sa.text(
                "INSERT INTO sqlite_stat1 (tbl, idx, stat) SELECT :t, :i, :s"
                " WHERE NOT EXISTS (SELECT 1 FROM sqlite_stat1 WHERE idx = :i)"
            ).bindparams(t=table, i=index, s=" ".join(str(n) for n in (ROWS, *averages)))
        )
    op.execute("ANALYZE sqlite_schema")  # loads them


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for _table, index in STATISTICS:
        op.execute(sa.text("DELETE FROM sqlite_stat1 WHERE idx = :i").bindparams(i=index))
