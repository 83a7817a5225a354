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
    sa.CheckConstraint("capacity > 0", name="rooms_capacity_positive"),
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
    sa.UniqueConstraint("inquiry_id", "occurrence", name="bookings_one_per_inquiry_occurrence"),
    sa.CheckConstraint(f"status IN ('{CONFIRMED}', '{CANCELLED}')", name="bookings_status_known"),
    sa.CheckConstraint("end_at > start_at", name="bookings_end_after_start"),
    sa.Index("bookings_room_time", "room_id", "start_at"),
)

# One row per booking request (inquiry): its outcome. A second request for the same inquiry is a no-op.
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
    sa.CheckConstraint(f"outcome IN ('{CONFIRMED}', '{REJECTED}')", name="booking_requests_outcome_known"),
)

NO_OVERLAP = "bookings_no_overlap"
