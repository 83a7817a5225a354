"""the event log, entity states and the daily fact counts (figures as projections of the log)

Revision ID: 0003
Revises: 0002

The add-only ``kpi_counters`` are dropped: their figures cannot be turned into log rows, so figures
start again from the events consumed after the upgrade.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _states(name: str) -> None:
    op.create_table(
        name,
        sa.Column("entity", sa.Text, nullable=False),
        sa.Column("state", pg.JSONB, nullable=False),
        sa.PrimaryKeyConstraint("entity", name=f"{name}_pkey"),
    )


def _daily(name: str) -> None:
    op.create_table(
        name,
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("metric", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("agent", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("room", sa.Text, nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("day", "metric", "channel", "agent", "category", "room", "value", name=f"{name}_pkey"),
    )


def upgrade() -> None:
    op.create_table(
        "event_log",
        sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("subject", sa.Text),
        sa.Column("channel", sa.Text),
        sa.Column("agent", sa.Text),
        sa.Column("category", sa.Text),
        sa.Column("room", sa.Text),
        sa.Column("value", sa.Double),
        sa.Column("attrs", pg.JSONB, nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("event_id", name="event_log_pkey"),
    )
    op.create_index("event_log_day", "event_log", ["day"])
    for name in ("entity_states", "compacted_entity_states"):
        _states(name)
    for name in ("kpi_daily", "compacted_kpi_daily"):
        _daily(name)
    op.create_table(
        "log_compactions",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("before_day", sa.Date, nullable=False),
        sa.Column("events", sa.BigInteger, nullable=False),
    )
    op.drop_table("kpi_counters")


def downgrade() -> None:
    op.create_table(
        "kpi_counters",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("metric", sa.Text, nullable=False),
        sa.Column("dim_kind", sa.Text, nullable=False),
        sa.Column("dim_value", sa.Text, nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("total", sa.Double, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("day", "metric", "dim_kind", "dim_value", name="kpi_counters_pkey"),
    )
    for name in ("log_compactions", "compacted_kpi_daily", "kpi_daily", "compacted_entity_states", "entity_states"):
        op.drop_table(name)
    op.drop_index("event_log_day", table_name="event_log")
    op.drop_table("event_log")
