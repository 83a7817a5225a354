"""the daily fact counts get three more dimensions: a complaint's service step and root cause, a meeting

Revision ID: 0004
Revises: 0003

Existing counts get "" (unknown) in the new columns; ``make metrics-rebuild`` (``python -m
services.metrics.rebuild``) after the upgrade recomputes them from the event log with the new
dimensions filled where the logged events name them. Totals and the older groupings are right either way.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("kpi_daily", "compacted_kpi_daily")
NEW = ("service_step", "cause", "meeting")
OLD_KEY = "day, metric, channel, agent, category, room, value"
NEW_KEY = "day, metric, channel, agent, category, room, service_step, cause, meeting, value"


def upgrade() -> None:
    for table in TABLES:
        for column in NEW:
            op.execute(f"ALTER TABLE {table} ADD COLUMN {column} text NOT NULL DEFAULT ''")
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT")
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({NEW_KEY})")


def downgrade() -> None:
    for table in TABLES:
        # the new dimensions are summed away
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey")
        op.execute(
            f"""CREATE TEMPORARY TABLE folded AS
                SELECT {OLD_KEY}, sum(count)::int8 AS count FROM {table} GROUP BY {OLD_KEY}"""
        )
        op.execute(f"DELETE FROM {table}")
        for column in NEW:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        op.execute(f"INSERT INTO {table} ({OLD_KEY}, count) SELECT {OLD_KEY}, count FROM folded")
        op.execute("DROP TABLE folded")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({OLD_KEY})")
