"""complaints, their append-only history, outbox, inbox

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


def _ts(name: str, *, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
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
        "complaints",
        sa.Column("complaint_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("inquiry_id", sa.Text),
        sa.Column("customer_id", sa.Text),
        sa.Column("channel", sa.Text),
        sa.Column("booking_id", sa.Text),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("severity", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("agent_id", sa.Text),
        sa.Column("text", sa.Text),
        _ts("registered_at", nullable=False),
        _ts("acknowledge_due_at", nullable=False),
        _ts("resolve_due_at", nullable=False),
        _ts("acknowledged_at"),
        _ts("resolved_at"),
        _ts("closed_at"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("correlation_id", sa.Text, nullable=False),
        sa.UniqueConstraint("inquiry_id", name="complaints_inquiry_id_key"),
        sa.CheckConstraint(
            "status IN ('registered', 'acknowledged', 'investigating', 'solution_proposed', "
            "'in_progress', 'resolved', 'closed')",
            name="complaints_status_known",
        ),
        sa.CheckConstraint(
            "category IN ('service_attitude', 'equipment_failure', 'venue_environment', "
            "'meeting_arrangement', 'catering', 'other')",
            name="complaints_category_known",
        ),
        sa.CheckConstraint(
            "severity IN ('low', 'normal', 'high', 'critical')",
            name="complaints_severity_known",
        ),
    )
    op.create_index("complaints_status_registered", "complaints", ["status", "registered_at"])
    op.create_index("complaints_customer", "complaints", ["customer_id"])
    op.create_table(
        "complaint_history",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "complaint_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("complaints.complaint_id", name="complaint_history_complaint_id_fkey"),
            nullable=False,
        ),
        _ts("at", nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("from_status", sa.Text),
        sa.Column("to_status", sa.Text, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("data", pg.JSONB, nullable=False, server_default="{}"),
    )
    op.create_index("complaint_history_complaint", "complaint_history", ["complaint_id", "id"])
    # The full history is kept: the database refuses to change or remove a history row.
    op.execute(
        """
        CREATE FUNCTION complaint_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'complaint_history is append-only (% refused)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER complaint_history_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
        "ON complaint_history FOR EACH STATEMENT EXECUTE FUNCTION complaint_history_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS complaint_history_append_only ON complaint_history")
    op.execute("DROP FUNCTION IF EXISTS complaint_history_append_only()")
    for name in ("complaint_history", "complaints", "inbox", "outbox"):
        op.drop_table(name)
