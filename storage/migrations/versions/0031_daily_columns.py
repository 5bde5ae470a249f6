"""register_day_versions and daily_columns: a day of lab orders or reading Tasks kept as
columns for the indicators; the two registers indexed by order time alone (a day is read for
every organization)

Revision ID: 0031_daily_columns
Revises: 0030_working_calendar
Create Date: 2026-12-04 20:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0031_daily_columns"
down_revision = "0030_working_calendar"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "register_day_versions",
        sa.Column("register", sa.String(32), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "daily_columns",
        sa.Column("register", sa.String(64), primary_key=True),
        sa.Column("zone", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("columns", sa.LargeBinary(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_lab_turnaround_ordered", "lab_turnaround", ["ordered_at"])
    op.create_index("ix_reading_milestones_ordered", "reading_milestones", ["ordered_at"])


def downgrade() -> None:
    op.drop_index("ix_reading_milestones_ordered", "reading_milestones")
    op.drop_index("ix_lab_turnaround_ordered", "lab_turnaround")
    op.drop_table("daily_columns")
    op.drop_table("register_day_versions")
