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

from .domain import DIMS, SUMMARISED, TIME_BUCKETS, Days, Fact, Record, State, Summary

LOG_COLUMNS = "event_id, type, occurred_at, at, day, subject, channel, agent, category, room, value, attrs"
DAILY_COLUMNS = ("day", "metric", *DIMS, "value", "count")
DAILY_KEY = ", ".join(DAILY_COLUMNS[:-1])
# /kpis' transaction only: a year's fact counts grouped by two dimensions are aggregated in memory, not on disk
REPORT_WORK_MEM = "64MB"


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
        """Add to each fact's count (negative: the fact no longer holds), in key order; how many rows.
        ``kpi_daily``'s sum per day, metric and value (``kpi_by_day``) moves in the same statement."""
        items = sorted((f, n) for f, n in counts.items() if n)
        if not items:
            return 0
        pg = await self._pg()
        facts = f"""unnest($1::date[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                           $8::text[], $9::text[], $10::int8[], $11::int8[]) AS u({", ".join(DAILY_COLUMNS)})"""
        add = f"""INSERT INTO {table} ({", ".join(DAILY_COLUMNS)}) SELECT * FROM {{source}}
                  ON CONFLICT ({DAILY_KEY}) DO UPDATE SET count = {table}.count + excluded.count"""
        if table != "kpi_daily":
            await pg.execute(add.format(source=facts), *_daily_columns(items))
            return len(items)
        await pg.execute(
            f"""WITH u AS (SELECT * FROM {facts}),
                     daily AS ({add.format(source="u")})
                INSERT INTO kpi_by_day (day, metric, value, count)
                SELECT day, metric, value, sum(count) FROM u GROUP BY day, metric, value ORDER BY day, metric, value
                ON CONFLICT (day, metric, value) DO UPDATE SET count = kpi_by_day.count + excluded.count""",
            *_daily_columns(items),
        )
        await self._add_day_values(items)
        return len(items)

    async def _add_day_values(self, items: list[tuple[Fact, int]]) -> None:
        """The durations among the facts into ``kpi_day_values``: per day and metric, each value added as
        often as its count went up, taken out as often as it went down (a multiset difference: the
        arrays stay equal to ``kpi_by_day``), in key order. One statement: a row another batch is changing
        is updated from that batch's result once it commits (the upsert reads the latest row), so
        concurrent batches lose nothing. A value taken out travels encoded as ``-value - 1``."""
        net: Counter[tuple[date, str, int]] = Counter()
        for f, n in items:
            if f.metric in SUMMARISED:
                net[(f.day, f.metric, f.value)] += n
        moved = sorted((key, n) for key, n in net.items() if n)
        if not moved:
            return
        pg = await self._pg()
        await pg.execute(
            """INSERT INTO kpi_day_values (day, metric, vals)
               SELECT day, metric, array_agg(x ORDER BY x)
               FROM (SELECT day, metric, CASE WHEN n > 0 THEN value ELSE -value - 1 END AS x
                     FROM unnest($1::date[], $2::text[], $3::int8[], $4::int8[]) AS d(day, metric, value, n),
                          generate_series(1, abs(n))) AS e
               GROUP BY day, metric ORDER BY day, metric
               ON CONFLICT (day, metric) DO UPDATE SET vals = ARRAY(
                   (SELECT unnest(kpi_day_values.vals) AS x UNION ALL
                    SELECT x FROM unnest(excluded.vals) AS a(x) WHERE x >= 0)
                   EXCEPT ALL SELECT -x - 1 FROM unnest(excluded.vals) AS r(x) WHERE x < 0
                   ORDER BY 1)""",
            [k[0] for k, _ in moved],
            [k[1] for k, _ in moved],
            [k[2] for k, _ in moved],
            [n for _, n in moved],
        )

    # -- what /kpis reads ------------------------------------------------------------------------------
    async def query(
        self, start: date, end: date, group_by: tuple[str, ...], *, without: tuple[str, ...] = ()
    ) -> list[tuple[Any, ...]]:
        """The fact counts of [start, end] (both included), summed per group of ``group_by`` (time
        buckets and/or dimensions), metric and value: ``((keys...), metric, value, count)``; the
        metrics ``without`` left out."""
        keys = _keys(group_by)
        cols = ", ".join([*keys, "metric", "value"])
        pg = await self._pg()
        where = "WHERE day BETWEEN $1 AND $2 AND NOT (metric = ANY($3::text[]))"
        if group_by == ("day",):  # kpi_by_day has one row per day, metric and value already
            sql = f"SELECT {cols}, count FROM kpi_by_day {where} AND count <> 0"
        else:
            sql = f"""SELECT {cols}, sum(count)::int8 FROM {_source(group_by)} {where}
                      GROUP BY {cols} HAVING sum(count) <> 0"""
        rows = await pg.fetch(sql, start, end, list(without))
        k = len(keys)
        if k == 1:
            return [((row[0],), row[1], row[2], row[3]) for row in rows]
        return [(tuple(row[:k]), row[k], row[k + 1], row[k + 2]) for row in rows]

    async def report(
        self, start: date, end: date, group_by: tuple[str, ...]
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """What /kpis reads: the fact counts per group, metric and value, except the durations', which come
        as their summaries per group and over all — the same figures as from every value. Grouped by time
        only, both from the per-day tables; grouped by a dimension, from one pass over the fact counts (the
        groups' values as sorted arrays) and the totals from the per-day values."""
        pg = await self._pg()
        await pg.execute(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")  # aggregates hashed or sorted in memory
        if _source(group_by) == "kpi_by_day":
            return await self.query(start, end, group_by, without=SUMMARISED), await self.summaries(
                start, end, group_by
            )
        keys = _keys(group_by)
        k = len(keys)
        cols = ", ".join(f"{expr} AS k{i}" for i, expr in enumerate(keys))
        names = ", ".join(f"k{i}" for i in range(k))
        found = await pg.fetch(
            f"""WITH h AS MATERIALIZED (
                    SELECT {cols}, metric, value, sum(count)::int8 AS c FROM kpi_daily
                    WHERE day BETWEEN $1 AND $2 GROUP BY {names}, metric, value HAVING sum(count) <> 0)
                SELECT {names}, metric, value, c, NULL::int8[], NULL::int8[] FROM h WHERE NOT (metric = ANY($3::text[]))
                UNION ALL
                SELECT {names}, metric, NULL, NULL, array_agg(value ORDER BY value), array_agg(c ORDER BY value)
                FROM h WHERE metric = ANY($3::text[]) AND c > 0 GROUP BY {names}, metric""",
            start,
            end,
            list(SUMMARISED),
        )
        rows: list[tuple[Any, ...]] = []
        summaries = await self._time_summaries(start, end, (), totals_only=True)
        for row in found:
            values = row[k + 3]
            if values is None:
                rows.append((tuple(row[:k]), row[k], row[k + 1], row[k + 2]))
            else:
                summaries.append((tuple(row[:k]), row[k], Summary.of_sorted(values, row[k + 4])))
        return rows, summaries

    async def summaries(self, start: date, end: date, group_by: tuple[str, ...]) -> list[tuple[Any, ...]]:
        """For the durations of :data:`domain.SUMMARISED`: per group of ``group_by`` and over all (keys
        None), each metric's :class:`domain.Summary` (count, sum, the middle values, the p90's value).
        The database sends each group's counted values as two sorted arrays (a year of response times
        in a few thousand rows); the totals are the groups' values merged (the groups partition the facts).
        Grouped by time only, each day's values come as one sorted array per metric (``kpi_day_values``)."""
        if _source(group_by) == "kpi_by_day":
            return await self._time_summaries(start, end, group_by)
        keys = _keys(group_by)
        k = len(keys)
        cols = ", ".join(f"{expr} AS k{i}" for i, expr in enumerate(keys))
        names = ", ".join(f"k{i}" for i in range(k))
        source = _source(group_by)
        if group_by == ("day",) and source == "kpi_by_day":  # one row per day, metric and value already
            counted = "SELECT day AS k0, metric, value, count AS c FROM kpi_by_day {where} AND count > 0"
        else:
            counted = f"""SELECT {cols + "," if k else ""} metric, value, sum(count)::int8 AS c FROM {source} {{where}}
                          GROUP BY {names + "," if k else ""} metric, value HAVING sum(count) > 0"""
        where = "WHERE day BETWEEN $1 AND $2 AND metric = ANY($3::text[])"
        pg = await self._pg()
        rows = await pg.fetch(
            f"""SELECT {names + "," if k else ""} metric, array_agg(value ORDER BY value), array_agg(c ORDER BY value)
                FROM ({counted.format(where=where)}) AS h GROUP BY {names + "," if k else ""} metric""",
            start,
            end,
            list(SUMMARISED),
        )  # fmt: skip
        out: list[tuple[Any, ...]] = []
        merged: dict[str, dict[int, int]] = {}
        for row in rows:
            metric, values, counts = row[k], row[k + 1], row[k + 2]
            out.append((tuple(row[:k]), metric, Summary.of_sorted(values, counts)))
            hist = merged.setdefault(metric, {})
            for value, count in zip(values, counts, strict=True):
                hist[value] = hist.get(value, 0) + count
        for metric, hist in merged.items():
            ordered = sorted(hist)
            out.append((None, metric, Summary.of_sorted(ordered, [hist[v] for v in ordered])))
        return out

    async def _time_summaries(
        self, start: date, end: date, group_by: tuple[str, ...], *, totals_only: bool = False
    ) -> list[tuple[Any, ...]]:
        """:meth:`summaries` grouped by time only (or not at all), from each day's sorted values: a day is
        its own summary; a week, month, quarter or the totals sort their days' arrays together (ascending
        runs, merged as they are found). ``totals_only``: the totals' summaries alone."""
        keys = _keys(group_by)
        k = len(keys)
        pg = await self._pg()
        rows = await pg.fetch(
            f"""SELECT {"".join(f"{expr}, " for expr in keys)}metric, vals FROM kpi_day_values
                WHERE day BETWEEN $1 AND $2 AND metric = ANY($3::text[]) AND cardinality(vals) > 0""",
            start,
            end,
            list(SUMMARISED),
        )
        out: list[tuple[Any, ...]] = []
        totals: dict[str, list[int]] = {}
        groups: dict[tuple[tuple[Any, ...], str], list[int]] = {}
        by_day = group_by == ("day",)
        for row in rows:
            metric, vals = row[k], row[k + 1]
            totals.setdefault(metric, []).extend(vals)
            if totals_only:
                continue
            if by_day:  # one row per day and metric: sorted already
                out.append(((row[0],), metric, Summary.of_values(vals)))
            else:
                groups.setdefault((tuple(row[:k]), metric), []).extend(vals)
        for (group, metric), vals in groups.items():
            vals.sort()
            out.append((group, metric, Summary.of_values(vals)))
        for metric, vals in totals.items():
            vals.sort()
            out.append((None, metric, Summary.of_values(vals)))
        return out

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
        return Counter({Fact(*row[:-1]): row[-1] for row in rows})

    async def replace_projections(self, states: Mapping[str, State], counts: Mapping[Fact, int]) -> None:
        """Replace every entity state and fact count (readers see the old ones until the commit)."""
        pg = await self._pg()
        await pg.execute("DELETE FROM entity_states")
        await pg.execute("DELETE FROM kpi_daily")
        await pg.execute("DELETE FROM kpi_by_day")
        await pg.copy_records_to_table(
            "entity_states", records=[(k, _json(v)) for k, v in sorted(states.items())], columns=["entity", "state"]
        )
        items = sorted((f, n) for f, n in counts.items() if n)
        await pg.copy_records_to_table(
            "kpi_daily", records=list(zip(*_daily_columns(items), strict=True)), columns=list(DAILY_COLUMNS)
        )
        await pg.execute(
            """INSERT INTO kpi_by_day (day, metric, value, count)
               SELECT day, metric, value, sum(count) FROM kpi_daily GROUP BY day, metric, value
               HAVING sum(count) <> 0"""
        )
        await pg.execute("DELETE FROM kpi_day_values")
        await pg.execute(
            """INSERT INTO kpi_day_values (day, metric, vals)
               SELECT b.day, b.metric, array_agg(b.value ORDER BY b.value)
               FROM kpi_by_day AS b, generate_series(1, b.count)
               WHERE b.count > 0 AND b.metric = ANY($1::text[])
               GROUP BY b.day, b.metric""",
            list(SUMMARISED),
        )

    async def delete_log_before(self, before: date) -> int:
        pg = await self._pg()
        status = await pg.execute("DELETE FROM event_log WHERE day < $1", before)
        return int(status.split()[-1])

    async def note_compaction(self, before: date, events: int) -> None:
        pg = await self._pg()
        await pg.execute("INSERT INTO log_compactions (before_day, events) VALUES ($1, $2)", before, events)
        await pg.execute("DELETE FROM kpi_daily WHERE count = 0")
        await pg.execute("DELETE FROM kpi_by_day WHERE count = 0")

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


def _source(group_by: tuple[str, ...]) -> str:
    """Grouped by time only (or not at all), the dimensions are summed away: the per-day sums serve."""
    return "kpi_by_day" if all(by in TIME_BUCKETS for by in group_by) else "kpi_daily"


def _keys(group_by: tuple[str, ...]) -> list[str]:
    """The SQL expression of each grouping: a time bucket's first day, or a dimension's column."""
    keys = []
    for by in group_by:
        if by in TIME_BUCKETS:
            keys.append("day" if by == "day" else f"date_trunc('{by}', day)::date")
        elif by in DIMS:
            keys.append(by)
        else:
            raise ValueError(f"unknown grouping {by!r}")
    return keys


def _daily_columns(items: list[tuple[Fact, int]]) -> list[list[Any]]:
    """The facts and their counts, column by column (in :data:`DAILY_COLUMNS`' order: a fact's fields)."""
    if not items:
        return [[] for _ in DAILY_COLUMNS]
    facts, counts = zip(*items, strict=True)
    return [*map(list, zip(*facts, strict=True)), list(counts)]
