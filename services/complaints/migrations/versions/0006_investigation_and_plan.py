"""the investigation's findings (root cause from a fixed list, department, evidence) and the solution plan
(actions with owner and due time, the customer's agreement)

Revision ID: 0006
Revises: 0005

Existing complaints have no findings and no plan (an earlier free-text root cause stays in their history).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ROOT_CAUSES = (
    "'staff_error', 'equipment_failure', 'process_gap', 'training_gap', 'third_party', 'misunderstanding', 'other'"
)


def upgrade() -> None:
    for column in (
        sa.Column("root_cause", sa.Text),
        sa.Column("responsible_department", sa.Text),
        sa.Column("evidence", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("actions", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("plan_agreed", sa.Boolean),
        sa.Column("plan_agreed_at", sa.DateTime(timezone=True)),
    ):
        op.add_column("complaints", column)
    op.create_check_constraint("complaints_root_cause_known", "complaints", f"root_cause IN ({ROOT_CAUSES})")


def downgrade() -> None:
    op.drop_constraint("complaints_root_cause_known", "complaints", type_="check")
    for name in ("plan_agreed_at", "plan_agreed", "actions", "evidence", "responsible_department", "root_cause"):
        op.drop_column("complaints", name)
