"""critical alerts: the register of critical values and findings, and their chain

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 09:00:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "critical_alerts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source_org_id", sa.String(length=64), nullable=False),
        sa.Column("recipient_org_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=True),
        sa.Column("about", sa.String(length=128), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("raised_at", storage.models.base.UTCDateTime(), nullable=False),
        sa.Column("deadline_at", storage.models.base.UTCDateTime(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("acknowledged_at", storage.models.base.UTCDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=128), nullable=True),
        sa.Column("read_back", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'acknowledged')", name=op.f("ck_critical_alerts_state")
        ),
        sa.ForeignKeyConstraint(
            ["source_org_id"], ["organizations.id"],
            name=op.f("fk_critical_alerts_source_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["recipient_org_id"], ["organizations.id"],
            name=op.f("fk_critical_alerts_recipient_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_critical_alerts")),
    )  # fmt: skip
    op.create_index(
        "ix_critical_alerts_recipient", "critical_alerts", ["recipient_org_id", "raised_at"]
    )
    op.create_index("ix_critical_alerts_source", "critical_alerts", ["source_org_id", "raised_at"])
    op.create_table(
        "critical_alert_steps",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("alert_id", sa.String(length=64), nullable=False),
        sa.Column("at", storage.models.base.UTCDateTime(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["critical_alerts.id"],
            name=op.f("fk_critical_alert_steps_alert_id_critical_alerts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_critical_alert_steps")),
    )  # fmt: skip
    op.create_index(op.f("ix_critical_alert_steps_alert_id"), "critical_alert_steps", ["alert_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_critical_alert_steps_alert_id"), table_name="critical_alert_steps")
    op.drop_table("critical_alert_steps")
    op.drop_index("ix_critical_alerts_source", table_name="critical_alerts")
    op.drop_index("ix_critical_alerts_recipient", table_name="critical_alerts")
    op.drop_table("critical_alerts")
