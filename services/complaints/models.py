"""Complaints' own tables (database ``meetdesk_complaints``)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from shared.db import add_messaging_tables, command_outcomes_table
from shared.scheduler import due_items_table

from .domain import CATEGORIES, LOG_KINDS, ROLES, ROOT_CAUSES, SERVICE_STEPS, SEVERITIES, STATUSES, TARGETS

metadata = sa.MetaData()
OUTBOX, INBOX = add_messaging_tables(metadata)
DUE_ITEMS = due_items_table(metadata)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


complaints = sa.Table(
    "complaints",
    metadata,
    sa.Column("complaint_id", pg.UUID(as_uuid=True), primary_key=True),
    # the inquiry it was registered from: one complaint per inquiry, however often it is delivered
    sa.Column("inquiry_id", sa.Text),
    sa.Column("customer_id", sa.Text),
    sa.Column("channel", sa.Text),
    sa.Column("booking_id", sa.Text),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("severity", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("agent_id", sa.Text),
    sa.Column("text", sa.Text),
    sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("acknowledge_due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("resolve_due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
    sa.Column("reopened_at", sa.DateTime(timezone=True)),  # the last reopening (the resolution clock restarts)
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("correlation_id", sa.Text, nullable=False),
    # the conversation it came on, and how the customer hears back (their channel, their language)
    sa.Column("conversation_id", sa.Text),
    sa.Column("reply_channel", sa.Text),
    sa.Column("reply_address", sa.Text),
    sa.Column("language", sa.Text),
    sa.Column("first_contact", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("withdrawn_at", sa.DateTime(timezone=True)),
    # the customer's satisfaction with the current resolution
    sa.Column("satisfaction_score", sa.SmallInteger),
    sa.Column("satisfied_at", sa.DateTime(timezone=True)),
    sa.Column("follow_ups", sa.SmallInteger, nullable=False, server_default="0"),
    # the investigation's findings; the solution plan (its actions, JSON) and the customer's answer to it
    sa.Column("root_cause", sa.Text),
    sa.Column("responsible_department", sa.Text),
    sa.Column("evidence", pg.JSONB, nullable=False, server_default="[]"),
    sa.Column("actions", pg.JSONB, nullable=False, server_default="[]"),
    sa.Column("plan_agreed", sa.Boolean),
    sa.Column("plan_agreed_at", sa.DateTime(timezone=True)),
    # what registration found or estimated: how the booking was linked, its room and equipment, the
    # service step concerned, why the severity is what it is
    sa.Column("booking_link", sa.Text),
    sa.Column("room_id", sa.Text),
    sa.Column("equipment", pg.JSONB, nullable=False, server_default="[]"),
    sa.Column("service_step", sa.Text),
    sa.Column("severity_reason", sa.Text),
    sa.UniqueConstraint("inquiry_id", name="complaints_inquiry_id_key"),
    sa.CheckConstraint(_in("status", STATUSES), name="complaints_status_known"),
    sa.CheckConstraint(_in("category", CATEGORIES), name="complaints_category_known"),
    sa.CheckConstraint(_in("severity", SEVERITIES), name="complaints_severity_known"),
    sa.CheckConstraint(_in("root_cause", ROOT_CAUSES), name="complaints_root_cause_known"),
    sa.CheckConstraint(_in("service_step", SERVICE_STEPS), name="complaints_service_step_known"),
    sa.Index("complaints_status_registered", "status", "registered_at"),
    sa.Index("complaints_customer", "customer_id"),
    sa.Index("complaints_conversation", "conversation_id"),
    sa.Index("complaints_agent", "agent_id"),
    sa.Index("complaints_booking", "booking_id"),
)

# Every step of every complaint, append-only: rows are inserted, never updated or deleted.
history = sa.Table(
    "complaint_history",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column(
        "complaint_id",
        pg.UUID(as_uuid=True),
        sa.ForeignKey("complaints.complaint_id", name="complaint_history_complaint_id_fkey"),
        nullable=False,
    ),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("from_status", sa.Text),
    sa.Column("to_status", sa.Text, nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("data", pg.JSONB, nullable=False, server_default="{}"),
    sa.Index("complaint_history_complaint", "complaint_id", "id"),
)

# The SLA log of every complaint, append-only: each target's clock transitions (started, paused,
# resumed, warning, met, breached, stopped) and the escalation steps they led to (escalated, rearmed),
# in ``seq`` order. The clocks are computed from it; nothing here is ever updated.
clock = sa.Table(
    "complaint_clock",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column(
        "complaint_id",
        pg.UUID(as_uuid=True),
        sa.ForeignKey("complaints.complaint_id", name="complaint_clock_complaint_id_fkey"),
        nullable=False,
    ),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("which", sa.Text, nullable=False),
    sa.Column("transition", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("cycle", sa.Integer, nullable=False),
    sa.Column("level", sa.SmallInteger),
    sa.Column("who", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("complaint_id", "seq", name="complaint_clock_complaint_seq_key"),
    sa.CheckConstraint(_in("which", TARGETS), name="complaint_clock_which_known"),
    sa.CheckConstraint(_in("transition", LOG_KINDS), name="complaint_clock_transition_known"),
)

# The staff directory escalation follows (staff.upsert): agent → supervisor → manager.
staff = sa.Table(
    "staff",
    metadata,
    sa.Column("staff_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("department", sa.Text),
    sa.Column("supervisor_id", sa.Text),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint(_in("role", ROLES), name="staff_role_known"),
)

# The answer given to a command posted over HTTP (POST /commands/{name}): a repeated POST gets it again.
command_outcomes = command_outcomes_table(metadata)

# Complaints' own view of the bookings, kept from booking's events (booking.confirmed, cancelled,
# rescheduled, updated): to check the booking a complaint names and find the customer's meeting.
booking_view = sa.Table(
    "booking_view",
    metadata,
    sa.Column("booking_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text),
    sa.Column("room_id", sa.Text),
    sa.Column("name", sa.Text),
    sa.Column("start", sa.DateTime(timezone=True)),
    sa.Column("end", sa.DateTime(timezone=True)),
    sa.Column("equipment", pg.JSONB, nullable=False, server_default="[]"),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("attendees", sa.Integer),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Index("booking_view_customer_start", "customer_id", "start"),
)

# The case library (案例庫): each closed complaint written up, with its labels and its text normalised
# for search (Simplified Chinese, lower case: a Traditional query finds Simplified text and the reverse).
cases = sa.Table(
    "complaint_cases",
    metadata,
    sa.Column(
        "complaint_id",
        pg.UUID(as_uuid=True),
        sa.ForeignKey("complaints.complaint_id", name="complaint_cases_complaint_id_fkey"),
        primary_key=True,
    ),
    sa.Column("problem", sa.Text, nullable=False),
    sa.Column("cause", sa.Text, nullable=False),
    sa.Column("solution", sa.Text, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("lesson", sa.Text, nullable=False),
    sa.Column("written_by", sa.Text, nullable=False),
    sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("severity", sa.Text, nullable=False),
    sa.Column("root_cause", sa.Text),
    sa.Column("service_step", sa.Text),
    sa.Column("room_id", sa.Text),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
    sa.Column("search_text", sa.Text, nullable=False),
    sa.Index("complaint_cases_closed", "closed_at"),
)
