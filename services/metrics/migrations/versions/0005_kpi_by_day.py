"""the fact counts per day, metric and value (the dimensions summed away): what /kpis reads when it
groups by time only

Revision ID: 0005
Revises: 0004

Kept equal to ``kpi_daily`` summed over its dimensions, in the same statement that changes it; filled
here from what ``kpi_daily`` holds.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_by_day",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("metric", sa.Text, nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("day", "metric", "value", name="kpi_by_day_pkey"),
    )
    op.execute(
        """INSERT INTO kpi_by_day (day, metric, value, count)
           SELECT day, metric, value, sum(count) FROM kpi_daily GROUP BY day, metric, value HAVING sum(count) <> 0"""
    )


def downgrade() -> None:
    op.drop_table("kpi_by_day")
