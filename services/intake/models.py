"""Intake's own tables (database ``meetdesk_intake``): the customer directory, the inquiries, the
conversations and the questions awaiting a customer's answer."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from shared.db import add_messaging_tables, command_outcomes_table
from shared.scheduler import due_items_table

metadata = sa.MetaData()
OUTBOX, INBOX = add_messaging_tables(metadata)
DUE_ITEMS = due_items_table(metadata)

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

# An email address, an E.164 phone number or a channel id belongs to one customer.
identities = sa.Table(
    "identities",
    metadata,
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, primary_key=True),
    sa.Column("customer_id", pg.UUID(as_uuid=True), sa.ForeignKey("customers.customer_id"), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Index("identities_customer", "customer_id"),
)

# One row per delivery accepted from a channel; (channel, source_ref) makes a redelivery a no-op.
inquiries = sa.Table(
    "inquiries",
    metadata,
    sa.Column("inquiry_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("source_ref", sa.Text, nullable=False),
    sa.Column("conversation_id", sa.Text, nullable=False),
    sa.Column("customer_id", pg.UUID(as_uuid=True), sa.ForeignKey("customers.customer_id")),
    sa.Column("intent", sa.Text, nullable=False),
    sa.Column("language", sa.Text, nullable=False),
    sa.Column("subject", sa.Text),
    sa.Column("text", sa.Text),
    sa.Column("agent_id", sa.Text),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("correlation_id", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    # the desk: what a booking request lacks (inquiry.received.missing), the meeting fields understood
    # (a draft, BookingDetails' names), where the customer is answered, and the agent who completed it
    sa.Column("missing", pg.JSONB, nullable=False, server_default="[]"),
    sa.Column("draft", pg.JSONB),
    sa.Column("reply_channel", sa.Text),
    sa.Column("reply_address", sa.Text),
    sa.Column("completed_at", sa.DateTime(timezone=True)),
    sa.Column("completed_by", sa.Text),
    sa.UniqueConstraint("channel", "source_ref", name="inquiries_one_per_delivery"),
    sa.Index("inquiries_customer", "customer_id"),
    sa.Index("inquiries_conversation", "conversation_id", "received_at"),
    sa.Index("inquiries_received", "received_at"),
)

# Every payload accepted from a channel, whatever it turned out to be (inquiry, agent reply, missed
# call, status change, survey answer): (channel, source_ref) makes a redelivery a no-op.
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("source_ref", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("conversation_id", sa.Text),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("correlation_id", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

# A conversation: an email thread, a Chatwoot conversation, a WeChat follower's chat, a call, a form.
conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("conversation_id", sa.Text, primary_key=True),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("customer_id", pg.UUID(as_uuid=True), sa.ForeignKey("customers.customer_id")),
    sa.Column("status", sa.Text, nullable=False, server_default="open"),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("first_reply_at", sa.DateTime(timezone=True)),
    sa.Column("awaiting_since", sa.DateTime(timezone=True)),  # the customer's oldest unanswered message
    sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
    # the language of the customer's last message whose script was clear (for text that shows none)
    sa.Column("language", sa.Text),
    # the desk: the agent the conversation is assigned to (conversation.assign, desk.handover)
    sa.Column("assignee", sa.Text),
    sa.Column("assigned_at", sa.DateTime(timezone=True)),
    sa.Index("conversations_awaiting", "awaiting_since"),
    sa.Index("conversations_assignee", "assignee"),
)

# Channel-native message ids that belong to a conversation (email Message-IDs): a reply naming one
# of them in In-Reply-To/References joins that conversation.
message_refs = sa.Table(
    "message_refs",
    metadata,
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("ref", sa.Text, primary_key=True),
    sa.Column("conversation_id", sa.Text, nullable=False),
)

# A question booking asked the customer on a reply route (the day-before reminder, booking.reminder_due:
# confirm, cancel or change?), awaiting the customer's answer on that route; the latest asked there wins.
awaiting_answers = sa.Table(
    "awaiting_answers",
    metadata,
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("address", sa.Text, primary_key=True),  # the email address, chat or WeChat conversation
    sa.Column("booking_id", sa.Text, nullable=False),
    sa.Column("question", sa.Text, nullable=False),  # what was asked: booking.reminder (domain.REMINDER)
    sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("correlation_id", sa.Text, nullable=False),  # the asking event's
)

# The last acknowledgement sent on a reply route: at most one per route in MEETDESK_ACKNOWLEDGE_EVERY_MINUTES.
acknowledgements = sa.Table(
    "acknowledgements",
    metadata,
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("address", sa.Text, primary_key=True),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
)

# A call-back task: one per missed call (call.missed), open until an agent reaches the customer (or
# finds the number wrong); reminded every MEETDESK_CALLBACK_REMIND_MINUTES while open.
callbacks = sa.Table(
    "callbacks",
    metadata,
    sa.Column("callback_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("call_id", sa.Text, nullable=False),
    sa.Column("phone", sa.Text),
    sa.Column("customer_id", pg.UUID(as_uuid=True)),
    sa.Column("missed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="open"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_outcome", sa.Text),
    sa.Column("last_note", sa.Text),
    sa.Column("last_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("assignee", sa.Text),
    sa.Column("remind_at", sa.DateTime(timezone=True)),
    sa.Column("done_at", sa.DateTime(timezone=True)),
    sa.Column("correlation_id", sa.Text, nullable=False),
    sa.UniqueConstraint("call_id", name="callbacks_one_per_call"),
    sa.CheckConstraint("status IN ('open', 'done')", name="callbacks_status_known"),
    sa.Index("callbacks_missed", "missed_at"),
    sa.Index("callbacks_customer", "customer_id"),
)

# Two customer records an agent said are one person (customer.link), kept when undone (customer.unlink):
# a link is active while unlinked_at is null. Linking moves no identity, so unlinking restores exactly.
customer_links = sa.Table(
    "customer_links",
    metadata,
    sa.Column("link_id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("other_customer_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("linked_by", sa.Text, nullable=False),
    sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("unlink_reason", sa.Text),
    sa.Column("unlinked_by", sa.Text),
    sa.Column("unlinked_at", sa.DateTime(timezone=True)),
    sa.Index("customer_links_customer", "customer_id"),
    sa.Index("customer_links_other", "other_customer_id"),
)

# The answers to commands posted over HTTP (shared/commands_http.py)
command_outcomes = command_outcomes_table(metadata)
