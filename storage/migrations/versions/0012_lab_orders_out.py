"""lab orders out: the message each LIS peer takes (OML^O21 or ORM^O01), and turnaround

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 10:30:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mllp_peers") as batch_op:
        batch_op.add_column(
            sa.Column(
                "order_message", sa.String(length=16), nullable=False, server_default="OML^O21"
            )
        )
        batch_op.create_check_constraint("order_message", "order_message IN ('OML^O21', 'ORM^O01')")
    moment = storage.models.base.UTCDateTime()
    op.create_table(
        "lab_turnaround",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("requester_org_id", sa.String(length=64), nullable=True),
        sa.Column("performer_org_id", sa.String(length=64), nullable=True),
        sa.Column("specimen", sa.String(length=64), nullable=True),
        *(
            sa.Column(f"{m}_at", moment, nullable=True)
            for m in ("ordered", "collected", "sent", "received", "rejected", "reported")
        ),
        sa.Column("rejection_reason", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_lab_turnaround")),
    )
    op.create_index(
        "ix_lab_turnaround_requester", "lab_turnaround", ["requester_org_id", "ordered_at"]
    )
    op.create_index(
        "ix_lab_turnaround_performer", "lab_turnaround", ["performer_org_id", "ordered_at"]
    )


def downgrade() -> None:
    op.drop_table("lab_turnaround")
    with op.batch_alter_table("mllp_peers") as batch_op:
        batch_op.drop_constraint("order_message", type_="check")
        batch_op.drop_column("order_message")
