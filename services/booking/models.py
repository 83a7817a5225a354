"""Booking's own tables (database ``meetdesk_booking``)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from shared.db import add_messaging_tables, command_outcomes_table
from shared.scheduler import due_items_table

from .domain import BOOKING_STATUSES, CONFIRMED, DEPARTMENTS, REJECTED, WAITLIST_STATES


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


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
    # the meeting's day: the customer confirmed the day before, checked in, the room released (no-show)
    # or the meeting over
    sa.Column("attendance_confirmed_at", sa.DateTime(timezone=True)),
    sa.Column("checked_in_at", sa.DateTime(timezone=True)),
    sa.Column("released_at", sa.DateTime(timezone=True)),
    sa.Column("completed_at", sa.DateTime(timezone=True)),
    sa.Column("agent_id", sa.Text),  # the agent who handled the request (NULL: none was involved)
    sa.UniqueConstraint("inquiry_id", "occurrence", name="bookings_one_per_inquiry_occurrence"),
    sa.CheckConstraint(f"status IN ({_listed(BOOKING_STATUSES)})", name="bookings_status_known"),
    sa.CheckConstraint("end_at > start_at", name="bookings_end_after_start"),
    sa.Index("bookings_room_time", "room_id", "start_at"),
    sa.Index("bookings_customer_time", "customer_id", "start_at"),
    sa.Index("bookings_time", "start_at"),
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
    # the waitlist: a request rejected because its slot was taken may wait for it (wait_if_taken)
    sa.Column("waitlist", sa.Text),  # waiting | offered | accepted | lapsed | left; NULL: not waiting
    sa.Column("waitlisted_at", sa.DateTime(timezone=True)),  # the queue's order
    sa.Column("wait_room_id", sa.Text),  # the slot waited for (room NULL: any suitable room)
    sa.Column("wait_start", sa.DateTime(timezone=True)),
    sa.Column("wait_end", sa.DateTime(timezone=True)),
    sa.Column("offer", pg.JSONB),  # the slot offered: {booking_id (the hold), room_id, start, end, accept_by, ...}
    sa.Column("correlation_id", sa.Text),  # the request's: an offer and the booking it becomes carry it on
    sa.Column("agent_id", sa.Text),  # the agent who handled the request (NULL: none was involved)
    sa.CheckConstraint(f"outcome IN ('{CONFIRMED}', '{REJECTED}')", name="booking_requests_outcome_known"),
    sa.CheckConstraint(f"waitlist IN ({_listed(WAITLIST_STATES)})", name="booking_requests_waitlist_known"),
    sa.Index("booking_requests_waiting", "wait_start", postgresql_where=sa.text("waitlist = 'waiting'")),
    sa.Index("booking_requests_customer", "customer_id", "decided_at"),
)

# What each department is asked to prepare for a booking, and whether it did (one row per department).
preparations = sa.Table(
    "booking_preparations",
    metadata,
    sa.Column("booking_id", pg.UUID(as_uuid=True), sa.ForeignKey("bookings.booking_id"), primary_key=True),
    sa.Column("department", sa.Text, primary_key=True),
    sa.Column("task", sa.Text, nullable=False),
    sa.Column("due_by", sa.DateTime(timezone=True), nullable=False),
    sa.Column("details", pg.JSONB, nullable=False, server_default="{}"),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("done_at", sa.DateTime(timezone=True)),
    sa.Column("done_by", sa.Text),
    sa.Column("note", sa.Text),
    sa.Column("overdue_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint(f"department IN ({_listed(DEPARTMENTS)})", name="booking_preparations_department_known"),
)

# The answer given to a command posted over HTTP (POST /commands/{name}): a repeated POST gets it again.
command_outcomes = command_outcomes_table(metadata)

NO_OVERLAP = "bookings_no_overlap"
