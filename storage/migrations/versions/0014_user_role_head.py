"""users: the head role (负责人), told when a critical value is not answered in time

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 11:40:00
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BEFORE = ("reader", "senior_reader", "clinician", "admin")
AFTER = ("reader", "senior_reader", "clinician", "head", "admin")


def _roles(roles: tuple[str, ...]) -> None:
    with op.batch_alter_table("user_roles") as batch_op:
        batch_op.drop_constraint("role", type_="check")
        batch_op.create_check_constraint("role", f"role IN ({', '.join(map(repr, roles))})")


def upgrade() -> None:
    _roles(AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM user_roles WHERE role = 'head'")
    _roles(BEFORE)
