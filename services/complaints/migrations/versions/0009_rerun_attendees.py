"""a booking's attendees in complaints' view of the bookings (booking_view.attendees): a re-run of the
meeting asks for as many

Revision ID: 0009
Revises: 0008

Bookings seen before keep none until booking's next event about them; a re-run needs it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("booking_view", sa.Column("attendees", sa.Integer))


def downgrade() -> None:
    op.drop_column("booking_view", "attendees")
