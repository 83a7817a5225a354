"""Metrics' own tables (database ``meetdesk_metrics``).

- ``event_log``: every event a KPI reads, once (its id is the key), as a :class:`domain.Record`;
- ``entity_states``: the state of each complaint, booking, request and customer (:mod:`domain.state`);
- ``kpi_daily``: how many times each fact occurred (:mod:`domain.projection`) — what the figures are
  computed from; always equal to the facts of the logged events and of the current states;
- ``kpi_by_day``: the same summed over the dimensions (day, metric, value), changed in the same
  statements: what /kpis reads when it groups by time only (a year by day in a fraction of the rows);
- ``kpi_day_values``: per day and duration metric (:data:`domain.SUMMARISED`), the values of ``kpi_by_day``
  each repeated as often as counted, sorted: the exact median and p90 of any days from a few arrays;
- ``compacted_entity_states`` / ``compacted_kpi_daily``: what the log rows deleted by compaction had
  contributed (a rebuild starts from them), and ``log_compactions``, when that was done.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from shared.db import add_messaging_tables
from shared.scheduler import due_items_table

metadata = sa.MetaData()
OUTBOX, INBOX = add_messaging_tables(metadata)
DUE_ITEMS = due_items_table(metadata)

event_log = sa.Table(
    "event_log",
    metadata,
    sa.Column("event_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),  # when it happened in the business sense
    sa.Column("day", sa.Date, nullable=False),  # ``at``'s venue-local day, as logged
    sa.Column("subject", sa.Text),  # the complaint, booking, request or conversation it is about
    sa.Column("channel", sa.Text),
    sa.Column("agent", sa.Text),
    sa.Column("category", sa.Text),
    sa.Column("room", sa.Text),
    sa.Column("value", sa.Double),
    sa.Column("attrs", pg.JSONB, nullable=False, server_default="{}"),
    sa.Index("event_log_day", "day"),
)


def _states(name: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("entity", sa.Text, primary_key=True),  # "complaint:<id>", "booking:<id>", …
        sa.Column("state", pg.JSONB, nullable=False),
    )


def _daily(name: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("metric", sa.Text, primary_key=True),
        sa.Column("channel", sa.Text, primary_key=True),  # "" when unknown
        sa.Column("agent", sa.Text, primary_key=True),
        sa.Column("category", sa.Text, primary_key=True),
        sa.Column("room", sa.Text, primary_key=True),
        sa.Column("service_step", sa.Text, primary_key=True),  # a complaint's service step
        sa.Column("cause", sa.Text, primary_key=True),  # a complaint's root cause
        sa.Column("meeting", sa.Text, primary_key=True),  # a booking occurrence's id
        sa.Column("value", sa.BigInteger, primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
    )


kpi_by_day = sa.Table(  # kpi_daily summed over its dimensions (what /kpis reads when it groups by time only)
    "kpi_by_day",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("metric", sa.Text, primary_key=True),
    sa.Column("value", sa.BigInteger, primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False),
)

kpi_day_values = sa.Table(  # each day's durations, every counted value in ascending order (/kpis by time)
    "kpi_day_values",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("metric", sa.Text, primary_key=True),
    sa.Column("vals", pg.ARRAY(sa.BigInteger), nullable=False),
)

entity_states = _states("entity_states")
kpi_daily = _daily("kpi_daily")
compacted_entity_states = _states("compacted_entity_states")
compacted_kpi_daily = _daily("compacted_kpi_daily")

log_compactions = sa.Table(
    "log_compactions",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("before_day", sa.Date, nullable=False),  # log rows of earlier days were folded and deleted
    sa.Column("events", sa.BigInteger, nullable=False),
)
