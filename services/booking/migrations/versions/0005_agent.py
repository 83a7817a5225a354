"""the agent who handled a booking request (booking.requested's agent_id), kept with the request and
its bookings, so the satisfaction survey names them

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bookings", sa.Column("agent_id", sa.Text))
    op.add_column("booking_requests", sa.Column("agent_id", sa.Text))


def downgrade() -> None:
    op.drop_column("booking_requests", "agent_id")
    op.drop_column("bookings", "agent_id")
