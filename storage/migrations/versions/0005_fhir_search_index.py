"""fhir search index tables

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 00:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_S = sa.String
# table -> (its value columns, its value indexes: name suffix -> columns after resource_type;
# ending in resource_id, so that finding and counting the matching ids reads the index only)
TABLES = {
    "fhir_index_token": (
        [sa.Column("system", _S(255)), sa.Column("code", _S(255)), sa.Column("text", _S(255))],
        {"code": ["param", "code", "system", "resource_id"], "text": ["param", "text"]},
    ),
    "fhir_index_string": (
        [sa.Column("value", _S(255), nullable=False)],
        {"value": ["param", "value", "resource_id"]},
    ),
    "fhir_index_date": (
        [
            sa.Column("low", _S(19), nullable=False),
            sa.Column("high", _S(19), nullable=False),
            sa.Column("wide", sa.Boolean(), nullable=False),
        ],
        {"low": ["param", "wide", "low", "high", "resource_id"]},
    ),
    "fhir_index_reference": (
        [sa.Column("target", _S(255), nullable=False)],
        {"target": ["param", "target", "resource_id"]},
    ),
    "fhir_index_quantity": (
        [
            sa.Column("system", _S(255)),
            sa.Column("code", _S(64)),
            sa.Column("value", sa.Float(), nullable=False),
        ],
        {"value": ["param", "code", "value", "resource_id"]},
    ),
    "fhir_index_uri": (
        [sa.Column("value", _S(255), nullable=False)],
        {"value": ["param", "value", "resource_id"]},
    ),
}


def upgrade() -> None:
    for table, (columns, indexes) in TABLES.items():
        op.create_table(
            table,
            *columns,
            sa.Column(
                "id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                autoincrement=True,
                nullable=False,
            ),
            sa.Column("resource_type", _S(64), nullable=False),
            sa.Column("resource_id", _S(64), nullable=False),
            sa.Column("param", _S(64), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        )
        op.create_index(f"ix_{table}_resource", table, ["resource_type", "resource_id", "param"])
        for suffix, indexed in indexes.items():
            op.create_index(f"ix_{table}_{suffix}", table, ["resource_type", *indexed])
    if op.get_bind().dialect.name == "sqlite":
        _planner_statistics()


def _planner_statistics() -> None:
    """SQLite plans with the statistics in ``sqlite_stat1``; without them (a new database, or
    one that grew since the last ANALYZE) it may check a resource's dates through the date
    index instead of the resource's own index rows, a scan per candidate.  These rows describe
    an index of a million values (per resource a few rows per parameter, per value a few
    resources) until ``PRAGMA optimize`` measures the real ones."""
    op.execute("ANALYZE sqlite_schema")  # creates sqlite_stat1
    rows = 1_000_000
    for table, (_columns, indexes) in TABLES.items():
        # resource_type, resource_id, param
        stats = {f"ix_{table}_resource": [rows // 10, 10, 2]}
        for suffix, indexed in indexes.items():
            # resource_type, param, (wide,) then the values: a few rows per value
            averages = {"param": rows // 50, "wide": rows // 100, "resource_id": 1}
            stats[f"ix_{table}_{suffix}"] = [rows // 10, *(averages.get(c, 5) for c in indexed)]
        for index, averages in stats.items():
            stat = " ".join(str(n) for n in (rows, *averages))
            op.execute(
                sa.text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (:t, :i, :s)").bindparams(
                    t=table, i=index, s=stat
                )
            )
    op.execute("ANALYZE sqlite_schema")  # loads them


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
