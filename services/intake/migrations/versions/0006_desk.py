"""the desk (issue 15): conversations.assignee; what an inquiry lacks, its draft meeting and reply route,
and who completed it; call-backs (one per missed call); links between customer records, with history;
the answers to commands posted over HTTP (command_outcomes)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("conversations", sa.Column("assignee", sa.Text))
    op.add_column("conversations", sa.Column("assigned_at", sa.DateTime(timezone=True)))
    op.create_index("conversations_awaiting", "conversations", ["awaiting_since"])
    op.create_index("conversations_assignee", "conversations", ["assignee"])

    op.add_column("inquiries", sa.Column("missing", pg.JSONB, nullable=False, server_default="[]"))
    op.add_column("inquiries", sa.Column("draft", pg.JSONB))
    op.add_column("inquiries", sa.Column("reply_channel", sa.Text))
    op.add_column("inquiries", sa.Column("reply_address", sa.Text))
    op.add_column("inquiries", sa.Column("completed_at", sa.DateTime(timezone=True)))
    op.add_column("inquiries", sa.Column("completed_by", sa.Text))
    op.create_index("inquiries_conversation", "inquiries", ["conversation_id", "received_at"])
    op.create_index("inquiries_received", "inquiries", ["received_at"])

    op.create_table(
        "callbacks",
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
    )
    op.create_index("callbacks_missed", "callbacks", ["missed_at"])
    op.create_index("callbacks_customer", "callbacks", ["customer_id"])

    op.create_table(
        "customer_links",
        sa.Column("link_id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("other_customer_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("linked_by", sa.Text, nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unlink_reason", sa.Text),
        sa.Column("unlinked_by", sa.Text),
        sa.Column("unlinked_at", sa.DateTime(timezone=True)),
    )
    op.create_index("customer_links_customer", "customer_links", ["customer_id"])
    op.create_index("customer_links_other", "customer_links", ["other_customer_id"])

    op.create_table(
        "command_outcomes",
        sa.Column("command_id", sa.Text, primary_key=True),
        sa.Column("command", sa.Text, nullable=False),
        sa.Column("refusal", sa.Text),
        sa.Column("events", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("command_outcomes")
    op.drop_table("customer_links")
    op.drop_table("callbacks")
    op.drop_index("inquiries_received", "inquiries")
    op.drop_index("inquiries_conversation", "inquiries")
    for column in ("completed_by", "completed_at", "reply_address", "reply_channel", "draft", "missing"):
        op.drop_column("inquiries", column)
    op.drop_index("conversations_assignee", "conversations")
    op.drop_index("conversations_awaiting", "conversations")
    op.drop_column("conversations", "assigned_at")
    op.drop_column("conversations", "assignee")
