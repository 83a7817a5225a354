"""the answers to commands posted over HTTP (command_outcomes); complaints looked up by booking

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "command_outcomes",
        sa.Column("command_id", sa.Text, primary_key=True),
        sa.Column("command", sa.Text, nullable=False),
        sa.Column("refusal", sa.Text),
        sa.Column("events", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("complaints_booking", "complaints", ["booking_id"])


def downgrade() -> None:
    op.drop_index("complaints_booking", "complaints")
    op.drop_table("command_outcomes")
