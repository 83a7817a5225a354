"""the meeting's life: preparation by the departments, attendance, check-in and no-show release,
completion, the waitlist (a slot held for the waiter it is offered to), outcomes of HTTP commands

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a booking's day: confirmed by the customer, checked in, released (nobody came) or completed
    for column in ("attendance_confirmed_at", "checked_in_at", "released_at", "completed_at"):
        op.add_column("bookings", sa.Column(column, sa.DateTime(timezone=True)))
    # new statuses: released (no-show: the room is free again), completed (the meeting is over), held (a
    # slot offered to a waiter until the offer's deadline: it blocks the room like a booking)
    op.drop_constraint("bookings_status_known", "bookings")
    op.create_check_constraint(
        "bookings_status_known", "bookings", "status IN ('confirmed', 'cancelled', 'released', 'completed', 'held')"
    )
    # a released booking gives its room back, as a cancelled one does
    op.execute("ALTER TABLE bookings DROP CONSTRAINT bookings_no_overlap")
    op.execute(
        "ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap "
        "EXCLUDE USING gist (room_id WITH =, blocked WITH &&) WHERE (status NOT IN ('cancelled', 'released'))"
    )
    # GET /bookings filters by customer, and by date without a room
    op.create_index("bookings_customer_time", "bookings", ["customer_id", "start_at"])
    op.create_index("bookings_time", "bookings", ["start_at"])

    # the waitlist
    op.add_column("booking_requests", sa.Column("waitlist", sa.Text))
    op.add_column("booking_requests", sa.Column("waitlisted_at", sa.DateTime(timezone=True)))
    op.add_column("booking_requests", sa.Column("wait_room_id", sa.Text))
    op.add_column("booking_requests", sa.Column("wait_start", sa.DateTime(timezone=True)))
    op.add_column("booking_requests", sa.Column("wait_end", sa.DateTime(timezone=True)))
    op.add_column("booking_requests", sa.Column("offer", pg.JSONB))
    op.add_column("booking_requests", sa.Column("correlation_id", sa.Text))
    op.create_check_constraint(
        "booking_requests_waitlist_known",
        "booking_requests",
        "waitlist IN ('waiting', 'offered', 'accepted', 'lapsed', 'left')",
    )
    op.create_index(
        "booking_requests_waiting", "booking_requests", ["wait_start"], postgresql_where=sa.text("waitlist = 'waiting'")
    )
    op.create_index("booking_requests_customer", "booking_requests", ["customer_id", "decided_at"])

    op.create_table(
        "booking_preparations",
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
        sa.CheckConstraint(
            "department IN ('equipment', 'catering', 'setup')", name="booking_preparations_department_known"
        ),
    )
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
    op.drop_table("booking_preparations")
    op.drop_index("booking_requests_customer", "booking_requests")
    op.drop_index("booking_requests_waiting", "booking_requests")
    op.drop_constraint("booking_requests_waitlist_known", "booking_requests")
    for column in ("correlation_id", "offer", "wait_end", "wait_start", "wait_room_id", "waitlisted_at", "waitlist"):
        op.drop_column("booking_requests", column)
    op.drop_index("bookings_time", "bookings")
    op.drop_index("bookings_customer_time", "bookings")
    op.execute("DELETE FROM bookings WHERE status = 'held'")
    op.execute("UPDATE bookings SET status = 'confirmed' WHERE status = 'completed'")
    op.execute("UPDATE bookings SET status = 'cancelled' WHERE status = 'released'")
    op.execute("ALTER TABLE bookings DROP CONSTRAINT bookings_no_overlap")
    op.execute(
        "ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap "
        "EXCLUDE USING gist (room_id WITH =, blocked WITH &&) WHERE (status <> 'cancelled')"
    )
    op.drop_constraint("bookings_status_known", "bookings")
    op.create_check_constraint("bookings_status_known", "bookings", "status IN ('confirmed', 'cancelled')")
    for column in ("completed_at", "released_at", "checked_in_at", "attendance_confirmed_at"):
        op.drop_column("bookings", column)
