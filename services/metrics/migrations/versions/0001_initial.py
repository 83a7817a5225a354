"""kpi counters, outbox, inbox

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from shared.db import inbox_columns, outbox_columns

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("outbox", *outbox_columns())
    op.create_table("inbox", *inbox_columns())
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


def downgrade() -> None:
    for name in ("kpi_counters", "inbox", "outbox"):
        op.drop_table(name)
