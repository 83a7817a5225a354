"""acknowledgements: the last one sent on each reply route (at most one per route in a period);
conversations.language: the script of the customer's last clear message

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
    op.create_table(
        "acknowledgements",
        sa.Column("channel", sa.Text, primary_key=True),
        sa.Column("address", sa.Text, primary_key=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.add_column("conversations", sa.Column("language", sa.Text))


def downgrade() -> None:
    op.drop_column("conversations", "language")
    op.drop_table("acknowledgements")
