"""complaints.reopened_at (the resolution clock restarts at a reopening); SLA deadlines as due items

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("complaints", sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True))
    # complaints registered before the SLA clock existed get their deadlines watched too (those due
    # already fall due at once): acknowledgement while registered, resolution until resolved or closed
    op.execute(
        """
        INSERT INTO due_items (kind, key, due_at, not_before, correlation_id)
        SELECT 'complaint.acknowledge_due', complaint_id::text, acknowledge_due_at, acknowledge_due_at, correlation_id
          FROM complaints WHERE status = 'registered'
        ON CONFLICT (kind, key) DO NOTHING
        """
    )
    op.execute(
        """
        INSERT INTO due_items (kind, key, due_at, not_before, correlation_id)
        SELECT 'complaint.resolve_due', complaint_id::text, resolve_due_at, resolve_due_at, correlation_id
          FROM complaints WHERE status NOT IN ('resolved', 'closed')
        ON CONFLICT (kind, key) DO NOTHING
        """
    )


def downgrade() -> None:
    op.execute("DELETE FROM due_items WHERE kind IN ('complaint.acknowledge_due', 'complaint.resolve_due')")
    op.drop_column("complaints", "reopened_at")
