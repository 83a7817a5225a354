"""Booking's own tables (database ``meetdesk_booking``)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from shared.db import add_messaging_tables
from shared.scheduler import due_items_table

from .domain import CANCELLED, CONFIRMED, REJECTED

metadata = sa.MetaData()
OUTBOX, INBOX = add_messaging_tables(metadata)
DUE_ITEMS = due_items_table(metadata)

rooms = sa.Table(
    "rooms",
    metadata,
    sa.Column("room_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("location", sa.Text),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("equipment", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    # the room's own rules (NULL: the venue's settings); opens_at/closes_at in venue time
    sa.Column("setup_buffer_minutes", sa.Integer),
    sa.Column("cleanup_buffer_minutes", sa.Integer),
    sa.Column("opens_at", sa.Time),
    sa.Column("closes_at", sa.Time),
    sa.CheckConstraint("capacity > 0", name="rooms_capacity_positive"),
    sa.CheckConstraint("setup_buffer_minutes BETWEEN 0 AND 240", name="rooms_setup_buffer_range"),
    sa.CheckConstraint("cleanup_buffer_minutes BETWEEN 0 AND 240", name="rooms_cleanup_buffer_range"),
)

bookings = sa.Table(
    "bookings",
    metadata,
    sa.Column("booking_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("inquiry_id", sa.Text, nullable=False),
    sa.Column("occurrence", sa.Integer, nullable=False, server_default="0"),
    sa.Column("series_id", pg.UUID(as_uuid=True)),
    sa.Column("room_id", sa.Text, sa.ForeignKey("rooms.room_id"), nullable=False),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    # the interval the room is taken for: setup buffer + meeting + cleanup buffer, half-open [)
    sa.Column("blocked", pg.TSTZRANGE, nullable=False),
    sa.Column("attendees", sa.Integer, nullable=False),
    sa.Column("equipment", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("details", pg.JSONB, nullable=False, server_default="{}"),
    sa.Column("status", sa.Text, nullable=False, server_default=CONFIRMED),
    sa.Column("correlation_id", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("reply_to", pg.JSONB),  # how the customer hears back: {channel, address, language}
    sa.UniqueConstraint("inquiry_id", "occurrence", name="bookings_one_per_inquiry_occurrence"),
    sa.CheckConstraint(f"status IN ('{CONFIRMED}', '{CANCELLED}')", name="bookings_status_known"),
    sa.CheckConstraint("end_at > start_at", name="bookings_end_after_start"),
    sa.Index("bookings_room_time", "room_id", "start_at"),
)

# One row per booking request (inquiry): its outcome. A second request for the same inquiry is a no-op;
# a rejected request becomes confirmed when the customer accepts one of its alternatives.
requests = sa.Table(
    "booking_requests",
    metadata,
    sa.Column("inquiry_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("reason_code", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("request", pg.JSONB, nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("reply_to", pg.JSONB),  # how the customer hears back: {channel, address, language}
    # a rejected request: the alternatives offered ([{room_id, start, end}]) and the one accepted
    sa.Column("alternatives", pg.JSONB, nullable=False, server_default="[]"),
    sa.Column("accepted", pg.JSONB),
    sa.Column("accepted_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint(f"outcome IN ('{CONFIRMED}', '{REJECTED}')", name="booking_requests_outcome_known"),
)

NO_OVERLAP = "bookings_no_overlap"
