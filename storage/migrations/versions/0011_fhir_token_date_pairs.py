"""fhir token+date pairs: Observation and DiagnosticReport code+date in one index

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 10:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLE = "fhir_index_token_date"
INDEXED = ["resource_type", "param", "code", "wide", "low", "high", "system", "resource_id"]
# The pairs as storage.fhir.combos defines them when this migration was written.
PAIRS = {"Observation": ("code", "date"), "DiagnosticReport": ("code", "date")}


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("system", sa.String(255)),
        sa.Column("code", sa.String(255), nullable=False),
        sa.Column("low", sa.String(19), nullable=False),
        sa.Column("high", sa.String(19), nullable=False),
        sa.Column("wide", sa.Boolean(), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("param", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
    )
    op.create_index(f"ix_{TABLE}_resource", TABLE, ["resource_type", "resource_id", "param"])
    op.create_index(f"ix_{TABLE}_code", TABLE, INDEXED)
    for resource_type, (token, date) in PAIRS.items():
        op.execute(
            sa.text(
                "INSERT INTO fhir_index_token_date"
                " (resource_type, resource_id, param, system, code, low, high, wide)"
                " SELECT t.resource_type, t.resource_id, :pair, t.system, t.code,"
                " d.low, d.high, d.wide"
                " FROM fhir_index_token t JOIN fhir_index_date d"
                " ON d.resource_type = t.resource_type AND d.resource_id = t.resource_id"
                " AND d.param = :date"
                " WHERE t.resource_type = :type AND t.param = :token AND t.code IS NOT NULL"
            ).bindparams(pair=f"{token}+{date}", type=resource_type, token=token, date=date)
        )
    if op.get_bind().dialect.name == "sqlite":
        _planner_statistics()


def _planner_statistics() -> None:
    """As for the other index tables (0005): until ``PRAGMA optimize`` measures the table,
    describe a million pairs, a few per code and day, so that the planner starts from this
    index for a code and a date range."""
    rows = 1_000_000
    averages = {"param": rows // 50, "code": 2000, "wide": 1000, "resource_id": 1}
    stats = {
        f"ix_{TABLE}_resource": [rows // 10, 2, 2],
        f"ix_{TABLE}_code": [rows // 10, *(averages.get(c, 5) for c in INDEXED[1:])],
    }
    op.execute(sa.text("DELETE FROM sqlite_stat1 WHERE tbl = :t").bindparams(t=TABLE))
    for index, numbers in stats.items():
        op.execute(
            sa.text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (:t, :i, :s)").bindparams(
                t=TABLE, i=index, s=" ".join(str(n) for n in (rows, *numbers))
            )
        )
    op.execute("ANALYZE sqlite_schema")


def downgrade() -> None:
    op.drop_table(TABLE)
