"""hl7 messages: every message received from a registered peer and what became of it

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 08:00:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hl7_messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("peer_id", sa.String(length=64), nullable=False),
        sa.Column("control_id", sa.String(length=199), nullable=False),
        sa.Column("message_type", sa.String(length=20), nullable=False),
        sa.Column("version", sa.String(length=8), nullable=False),
        sa.Column("object_key", sa.String(length=1024), nullable=False),
        sa.Column("received_at", storage.models.base.UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("processed_at", storage.models.base.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("resources", sa.JSON(), nullable=True),
        sa.Column("unmapped_codes", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "state IN ('received', 'processed', 'failed', 'duplicate', 'rejected')",
            name=op.f("ck_hl7_messages_state"),
        ),
        sa.ForeignKeyConstraint(
            ["peer_id"], ["mllp_peers.id"], name=op.f("fk_hl7_messages_peer_id_mllp_peers")
        ),
        sa.ForeignKeyConstraint(
            ["object_key"],
            ["stored_objects.key"],
            name=op.f("fk_hl7_messages_object_key_stored_objects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hl7_messages")),
    )
    op.create_index("ix_hl7_messages_peer_control", "hl7_messages", ["peer_id", "control_id"])
    op.create_index("ix_hl7_messages_state", "hl7_messages", ["state", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_hl7_messages_state", table_name="hl7_messages")
    op.drop_index("ix_hl7_messages_peer_control", table_name="hl7_messages")
    op.drop_table("hl7_messages")
