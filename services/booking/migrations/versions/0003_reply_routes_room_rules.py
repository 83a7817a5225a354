"""reply routes with requests and bookings, alternatives offered and accepted, rooms' own buffers and hours

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a room's own rules; NULL: the venue's settings (existing rooms keep following them)
    op.add_column("rooms", sa.Column("setup_buffer_minutes", sa.Integer))
    op.add_column("rooms", sa.Column("cleanup_buffer_minutes", sa.Integer))
    op.add_column("rooms", sa.Column("opens_at", sa.Time))
    op.add_column("rooms", sa.Column("closes_at", sa.Time))
    op.create_check_constraint("rooms_setup_buffer_range", "rooms", "setup_buffer_minutes BETWEEN 0 AND 240")
    op.create_check_constraint("rooms_cleanup_buffer_range", "rooms", "cleanup_buffer_minutes BETWEEN 0 AND 240")
    # how the customer hears back ({channel, address, language}); NULL for what was booked before
    op.add_column("bookings", sa.Column("reply_to", pg.JSONB))
    op.add_column("booking_requests", sa.Column("reply_to", pg.JSONB))
    # a rejected request keeps what it was offered ([{room_id, start, end}]) and the one accepted
    op.add_column("booking_requests", sa.Column("alternatives", pg.JSONB, nullable=False, server_default="[]"))
    op.add_column("booking_requests", sa.Column("accepted", pg.JSONB))
    op.add_column("booking_requests", sa.Column("accepted_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    for column in ("accepted_at", "accepted", "alternatives", "reply_to"):
        op.drop_column("booking_requests", column)
    op.drop_column("bookings", "reply_to")
    op.drop_constraint("rooms_cleanup_buffer_range", "rooms")
    op.drop_constraint("rooms_setup_buffer_range", "rooms")
    for column in ("closes_at", "opens_at", "cleanup_buffer_minutes", "setup_buffer_minutes"):
        op.drop_column("rooms", column)
