"""Metrics' own tables (database ``meetdesk_metrics``)."""

from __future__ import annotations

import sqlalchemy as sa

from shared.db import add_messaging_tables
from shared.scheduler import due_items_table

metadata = sa.MetaData()
OUTBOX, INBOX = add_messaging_tables(metadata)
DUE_ITEMS = due_items_table(metadata)

# One counter per venue-local day, metric and dimension (``all``/``all`` for the totals); ``total``
# is the sum behind an average (satisfaction points, first-response seconds), 0 for plain counts.
kpi_counters = sa.Table(
    "kpi_counters",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("metric", sa.Text, primary_key=True),
    sa.Column("dim_kind", sa.Text, primary_key=True),
    sa.Column("dim_value", sa.Text, primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("total", sa.Double, nullable=False, server_default="0"),
)
