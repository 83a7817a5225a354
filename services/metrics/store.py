"""Metrics' SQL, as :class:`MetricsStore` (``uow.store``): the event log, the entity states, the daily
fact counts, the queries /kpis runs, and what rebuild and compaction read and write.

The hot path (:meth:`log`, :meth:`lock_states`, :meth:`save_states`, :meth:`add_facts`) is one
set-based statement each on the asyncpg connection inside the unit of work's transaction (``unnest``
of arrays, rows in key order so that concurrent batches queue for shared rows instead of deadlocking).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import date
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import driver_connection

from .domain import DIMS, TIME_BUCKETS, Days, Fact, Record, State

LOG_COLUMNS = "event_id, type, occurred_at, at, day, subject, channel, agent, category, room, value, attrs"
DAILY_COLUMNS = ("day", "metric", "channel", "agent", "category", "room", "value", "count")


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def record_of(row: Mapping[str, Any]) -> Record:
    return Record(
        str(row["event_id"]),
        row["type"],
        row["occurred_at"],
        row["at"],
        row["subject"],
        row["channel"],
        row["agent"],
        row["category"],
        row["room"],
        row["value"],
        _loads(row["attrs"]),
    )


def _loads(value: Any) -> Any:
    """JSONB as the connection returns it: text, or already decoded (SQLAlchemy's asyncpg dialect
    registers a JSON codec on its connections)."""
    return json.loads(value) if isinstance(value, str) else value


class MetricsStore:
    """Over one connection (inside the unit of work's transaction, or a read-only one)."""

    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def _pg(self) -> asyncpg.Connection:
        return await driver_connection(self.conn)

    # -- the hot path ---------------------------------------------------------------------------------
    async def log(self, records: Iterable[Record], days: Days) -> set[str]:
        """Append the records to the event log; the ids of those that were not there before (a
        redelivered event is already logged: it is not fresh). One statement, in event id order."""
        unique = {r.event_id: r for r in records}
        if not unique:
            return set()
        rows = [unique[k] for k in sorted(unique)]
        pg = await self._pg()
        fresh = await pg.fetch(
            f"""INSERT INTO event_log ({LOG_COLUMNS})
                SELECT e, t, o, a, d, s, c, ag, ca, r, v, x::jsonb
                FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::date[],
                            $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::float8[], $12::text[])
                     AS u(e, t, o, a, d, s, c, ag, ca, r, v, x)
                ON CONFLICT (event_id) DO NOTHING
                RETURNING event_id""",
            [r.event_id for r in rows],
            [r.type for r in rows],
            [r.occurred_at for r in rows],
            [r.at for r in rows],
            [days.of(r.at) for r in rows],
            [r.subject for r in rows],
            [r.channel for r in rows],
            [r.agent for r in rows],
            [r.category for r in rows],
            [r.room for r in rows],
            [r.value for r in rows],
            [_json(r.attrs) for r in rows],
        )
        return {str(row[0]) for row in fresh}

    async def lock_states(self, entities: list[str], *, table: str = "entity_states") -> dict[str, State]:
        """The states of ``entities`` (sorted), locked until the transaction ends; a new entity gets an
        empty row first, so that a concurrent batch creating it too waits for this one and then reads
        what it wrote."""
        if not entities:
            return {}
        pg = await self._pg()
        await pg.execute(
            f"""INSERT INTO {table} (entity, state) SELECT e, '{{}}'::jsonb FROM unnest($1::text[]) AS e
                ON CONFLICT (entity) DO NOTHING""",
            entities,
        )
        rows = await pg.fetch(
            f"SELECT entity, state::text FROM {table} WHERE entity = ANY($1::text[]) ORDER BY entity FOR UPDATE",
            entities,
        )
        return {row[0]: json.loads(row[1]) for row in rows if row[1] != "{}"}

    async def save_states(self, states: Mapping[str, State], *, table: str = "entity_states") -> None:
        """Write states of entities locked by :meth:`lock_states`."""
        if not states:
            return
        keys = sorted(states)
        pg = await self._pg()
        await pg.execute(
            f"""UPDATE {table} AS s SET state = u.state::jsonb
                FROM unnest($1::text[], $2::text[]) AS u(entity, state) WHERE s.entity = u.entity""",
            keys,
            [_json(states[k]) for k in keys],
        )

    async def add_facts(self, counts: Mapping[Fact, int], *, table: str = "kpi_daily") -> int:
        """Add to each fact's count (negative: the fact no longer holds), in key order; how many rows."""
        items = sorted((f, n) for f, n in counts.items() if n)
        if not items:
            return 0
        pg = await self._pg()
        await pg.execute(
            f"""INSERT INTO {table} ({", ".join(DAILY_COLUMNS)})
                SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                     $7::int8[], $8::int8[])
                ON CONFLICT (day, metric, channel, agent, category, room, value)
                DO UPDATE SET count = {table}.count + excluded.count""",
            *_daily_columns(items),
        )
        return len(items)

    # -- what /kpis reads ------------------------------------------------------------------------------
    async def query(self, start: date, end: date, group_by: tuple[str, ...]) -> list[tuple[Any, ...]]:
        """The fact counts of [start, end] (both included), summed per group of ``group_by`` (time
        buckets and/or dimensions), metric and value: ``((keys...), metric, value, count)``."""
        keys = []
        for by in group_by:
            if by in TIME_BUCKETS:
                keys.append("day" if by == "day" else f"date_trunc('{by}', day)::date")
            elif by in DIMS:
                keys.append(by)
            else:
                raise ValueError(f"unknown grouping {by!r}")
        cols = ", ".join([*keys, "metric", "value"])
        pg = await self._pg()
        rows = await pg.fetch(
            f"""SELECT {cols}, sum(count)::int8 FROM kpi_daily WHERE day BETWEEN $1 AND $2
                GROUP BY {cols} HAVING sum(count) <> 0""",
            start,
            end,
        )
        k = len(keys)
        return [(tuple(row[:k]), row[k], row[k + 1], row[k + 2]) for row in rows]

    async def breached_complaints(self) -> list[State]:
        """The states of complaints that have had a target breached (the only ones that can be past
        due; the Prometheus gauges read them)."""
        pg = await self._pg()
        rows = await pg.fetch(
            """SELECT state::text FROM entity_states
               WHERE entity LIKE 'complaint:%' AND jsonb_path_exists(state, '$.sla.*.breach')"""
        )
        return [json.loads(row[0]) for row in rows]

    # -- rebuild and compaction -------------------------------------------------------------------------
    async def lock_log(self) -> None:
        """Hold the log still until the transaction ends: live batches wait (their deliveries stay in
        the queue), and a rebuild and a compaction never run at once."""
        pg = await self._pg()
        await pg.execute("LOCK TABLE event_log IN SHARE ROW EXCLUSIVE MODE")

    async def records(self, before: date | None = None, *, chunk: int = 5000) -> AsyncIterator[list[Record]]:
        """The logged records (of days before ``before``, if given), in chunks, through a cursor."""
        pg = await self._pg()
        where, args = ("WHERE day < $1", [before]) if before is not None else ("", [])
        cursor = pg.cursor(f"SELECT {LOG_COLUMNS} FROM event_log {where}", *args, prefetch=chunk)
        batch: list[Record] = []
        async for row in cursor:
            batch.append(record_of(row))
            if len(batch) >= chunk:
                yield batch
                batch = []
        if batch:
            yield batch

    async def all_states(self, table: str = "compacted_entity_states") -> dict[str, State]:
        pg = await self._pg()
        rows = await pg.fetch(f"SELECT entity, state::text FROM {table}")
        return {row[0]: json.loads(row[1]) for row in rows}

    async def all_facts(self, table: str = "compacted_kpi_daily") -> Counter[Fact]:
        pg = await self._pg()
        rows = await pg.fetch(f"SELECT {', '.join(DAILY_COLUMNS)} FROM {table} WHERE count <> 0")
        return Counter({Fact(*row[:7]): row[7] for row in rows})

    async def replace_projections(self, states: Mapping[str, State], counts: Mapping[Fact, int]) -> None:
        """Replace every entity state and fact count (readers see the old ones until the commit)."""
        pg = await self._pg()
        await pg.execute("DELETE FROM entity_states")
        await pg.execute("DELETE FROM kpi_daily")
        await pg.copy_records_to_table(
            "entity_states", records=[(k, _json(v)) for k, v in sorted(states.items())], columns=["entity", "state"]
        )
        items = sorted((f, n) for f, n in counts.items() if n)
        await pg.copy_records_to_table(
            "kpi_daily", records=list(zip(*_daily_columns(items), strict=True)), columns=list(DAILY_COLUMNS)
        )

    async def delete_log_before(self, before: date) -> int:
        pg = await self._pg()
        status = await pg.execute("DELETE FROM event_log WHERE day < $1", before)
        return int(status.split()[-1])

    async def note_compaction(self, before: date, events: int) -> None:
        pg = await self._pg()
        await pg.execute("INSERT INTO log_compactions (before_day, events) VALUES ($1, $2)", before, events)
        await pg.execute("DELETE FROM kpi_daily WHERE count = 0")

    async def log_extent(self) -> dict[str, Any]:
        """How many events are logged, from which day to which, and the last compaction."""
        pg = await self._pg()
        row = await pg.fetchrow("SELECT count(*) AS events, min(day) AS first, max(day) AS last FROM event_log")
        compacted = await pg.fetchrow(
            "SELECT max(before_day) AS before, sum(events)::int8 AS events FROM log_compactions"
        )
        return {
            "events": row["events"],
            "first_day": row["first"],
            "last_day": row["last"],
            "compacted_before": compacted["before"],
            "compacted_events": compacted["events"] or 0,
        }


def _daily_columns(items: list[tuple[Fact, int]]) -> list[list[Any]]:
    return [
        [f.day for f, _ in items],
        [f.metric for f, _ in items],
        [f.channel for f, _ in items],
        [f.agent for f, _ in items],
        [f.category for f, _ in items],
        [f.room for f, _ in items],
        [f.value for f, _ in items],
        [n for _, n in items],
    ]
