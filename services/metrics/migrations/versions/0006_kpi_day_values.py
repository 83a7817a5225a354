"""each day's durations as one sorted array per metric: what /kpis reads of them when it groups by time only

Revision ID: 0006
Revises: 0005

``kpi_day_values`` holds, per venue day and duration metric (response times, handling time, SLA seconds,
call-back time), every counted value of ``kpi_by_day`` repeated as often as it is counted, in ascending
order: the exact median and p90 of any days are read from a few arrays instead of every (value, count)
row. Kept equal to ``kpi_by_day`` in the statements that change it; filled here from what it holds (a
rebuild fills it too).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# the durations of this release (services.metrics.domain.SUMMARISED), written out: a migration keeps doing
# what it did whatever a later release summarises (a rebuild fills the table with the release's own list)
DURATIONS = (
    "first_response",
    "next_response",
    "first_response_business",
    "next_response_business",
    "handling_time",
    "callbacks",
    "sla_acknowledge_met",
    "sla_resolve_met",
)


def upgrade() -> None:
    op.create_table(
        "kpi_day_values",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("metric", sa.Text, nullable=False),
        sa.Column("vals", pg.ARRAY(sa.BigInteger), nullable=False),
        sa.PrimaryKeyConstraint("day", "metric", name="kpi_day_values_pkey"),
    )
    metrics = ", ".join(f"'{m}'" for m in DURATIONS)
    op.execute(
        f"""INSERT INTO kpi_day_values (day, metric, vals)
            SELECT b.day, b.metric, array_agg(b.value ORDER BY b.value)
            FROM kpi_by_day AS b, generate_series(1, b.count)
            WHERE b.count > 0 AND b.metric IN ({metrics})
            GROUP BY b.day, b.metric"""
    )


def downgrade() -> None:
    op.drop_table("kpi_day_values")
