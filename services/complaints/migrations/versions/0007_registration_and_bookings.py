"""what registration records (the booking's link, room and equipment, the service step, the severity's
reason) and complaints' own view of the bookings (booking_view, from booking's events)

Revision ID: 0007
Revises: 0006

Existing complaints keep what they had: no service step or severity reason is made up for them.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SERVICE_STEPS = "'booking', 'preparation', 'on_site', 'catering', 'av', 'after_meeting', 'other'"


def upgrade() -> None:
    for column in (
        sa.Column("booking_link", sa.Text),
        sa.Column("room_id", sa.Text),
        sa.Column("equipment", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("service_step", sa.Text),
        sa.Column("severity_reason", sa.Text),
    ):
        op.add_column("complaints", column)
    op.create_check_constraint("complaints_service_step_known", "complaints", f"service_step IN ({SERVICE_STEPS})")
    op.execute("UPDATE complaints SET booking_link = 'given_unknown' WHERE booking_id IS NOT NULL")
    op.create_table(
        "booking_view",
        sa.Column("booking_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text),
        sa.Column("room_id", sa.Text),
        sa.Column("name", sa.Text),
        sa.Column("start", sa.DateTime(timezone=True)),
        sa.Column("end", sa.DateTime(timezone=True)),
        sa.Column("equipment", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("booking_view_customer_start", "booking_view", ["customer_id", "start"])


def downgrade() -> None:
    op.drop_index("booking_view_customer_start", "booking_view")
    op.drop_table("booking_view")
    op.drop_constraint("complaints_service_step_known", "complaints", type_="check")
    for name in ("severity_reason", "service_step", "equipment", "room_id", "booking_link"):
        op.drop_column("complaints", name)
