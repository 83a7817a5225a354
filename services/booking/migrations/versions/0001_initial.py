"""rooms, bookings with the no-overlap exclusion constraint, booking requests, outbox, inbox

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    # outbox and inbox as shared/db.py described them when this revision was written (written out, so
    # that a later change there never changes what this revision creates)
    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("exchange", sa.Text, nullable=False),
        sa.Column("routing_key", sa.Text, nullable=False),
        sa.Column("message_type", sa.Text, nullable=False),
        sa.Column("correlation_id", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "inbox",
        sa.Column("message_id", sa.Text, primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "rooms",
        sa.Column("room_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("location", sa.Text),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("equipment", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        _ts("updated_at"),
        sa.CheckConstraint("capacity > 0", name="rooms_capacity_positive"),
    )
    op.create_table(
        "bookings",
        sa.Column("booking_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("inquiry_id", sa.Text, nullable=False),
        sa.Column("occurrence", sa.Integer, nullable=False, server_default="0"),
        sa.Column("series_id", pg.UUID(as_uuid=True)),
        sa.Column("room_id", sa.Text, sa.ForeignKey("rooms.room_id"), nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked", pg.TSTZRANGE, nullable=False),
        sa.Column("attendees", sa.Integer, nullable=False),
        sa.Column("equipment", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("details", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("status", sa.Text, nullable=False, server_default="confirmed"),
        sa.Column("correlation_id", sa.Text, nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.UniqueConstraint("inquiry_id", "occurrence", name="bookings_one_per_inquiry_occurrence"),
        sa.CheckConstraint("status IN ('confirmed', 'cancelled')", name="bookings_status_known"),
        sa.CheckConstraint("end_at > start_at", name="bookings_end_after_start"),
    )
    op.create_index("bookings_room_time", "bookings", ["room_id", "start_at"])
    # A room is never given to two meetings at overlapping times (setup and cleanup buffers are part
    # of ``blocked``); cancelled bookings do not count. The database is the arbiter, so any number
    # of booking replicas is safe.
    op.execute(
        "ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap "
        "EXCLUDE USING gist (room_id WITH =, blocked WITH &&) WHERE (status <> 'cancelled')"
    )
    op.create_table(
        "booking_requests",
        sa.Column("inquiry_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("reason_code", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("request", pg.JSONB, nullable=False),
        _ts("decided_at"),
        sa.CheckConstraint("outcome IN ('confirmed', 'rejected')", name="booking_requests_outcome_known"),
    )


def downgrade() -> None:
    for name in ("booking_requests", "bookings", "rooms", "inbox", "outbox"):
        op.drop_table(name)
