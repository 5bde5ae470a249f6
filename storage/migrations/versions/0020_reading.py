"""reading: each reading Task's milestones; a centre's sign-off, due-time and template settings

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-02 05:40:00
"""

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0020"
down_revision = "0018"
branch_labels = None
depends_on = None

MOMENTS = (
    "exam_started_at", "exam_ended_at", "images_at", "claimed_at", "preliminary_at",
    "verified_at", "delivered_at", "returned_at", "amended_at", "escalated_at", "finished_at",
)  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("centres") as batch_op:
        batch_op.add_column(
            sa.Column("single_sign_off", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("due_rules", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("report_templates", sa.JSON(), nullable=False, server_default="[]")
        )
    op.create_table(
        "reading_milestones",
        sa.Column("task_id", sa.String(64), primary_key=True),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("centre_id", sa.String(64), nullable=False),
        sa.Column("requester_org_id", sa.String(64), nullable=True),
        sa.Column("modality", sa.String(16), nullable=True),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("ordered_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        *(sa.Column(name, UTCDateTime(), nullable=True) for name in MOMENTS),
        sa.Column("author", sa.String(64), nullable=True),
        sa.Column("verifier", sa.String(64), nullable=True),
        sa.Column("ups_transaction", sa.String(64), nullable=True),
    )
    op.create_index("ix_reading_milestones_centre", "reading_milestones",
                    ["centre_id", "ordered_at"])  # fmt: skip
    op.create_index("ix_reading_milestones_order", "reading_milestones", ["order_id"])
    op.create_index("ix_reading_milestones_open", "reading_milestones",
                    ["finished_at", "due_at"])  # fmt: skip


def downgrade() -> None:
    op.drop_table("reading_milestones")
    with op.batch_alter_table("centres") as batch_op:
        batch_op.drop_column("report_templates")
        batch_op.drop_column("due_rules")
        batch_op.drop_column("single_sign_off")
