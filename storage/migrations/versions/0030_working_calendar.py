"""alliances.calendar: the working-day calendar of an alliance (法定节假日 and 调休 working
days), by which pathology turnaround is counted in working days

Revision ID: 0030_working_calendar
Revises: 0029_recognition_shares
Create Date: 2026-12-03 07:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0030_working_calendar"
down_revision = "0029_recognition_shares"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alliances") as batch:
        batch.add_column(sa.Column("calendar", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alliances") as batch:
        batch.drop_column("calendar")
