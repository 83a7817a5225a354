"""Metrics' SQL: plain SQLAlchemy Core over ``kpi_counters``, as :class:`MetricsStore` (``uow.store``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .domain import ALL, GROUP_BYS, Fact, GroupBy
from .models import kpi_counters as kc

KEY = ("day", "metric", "dim_kind", "dim_value")


@dataclass(frozen=True)
class Summed:
    """Counters summed over a period: per day (``group_by="day"``) or over all its days (day None)."""

    day: date | None
    metric: str
    dim_kind: str
    dim_value: str
    count: int
    total: float


class MetricsStore:
    """The counters, over one connection (inside the unit of work's transaction, or a read-only one)."""

    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def add_facts(self, facts: Iterable[Fact]) -> int:
        """Add the facts to their counters in one statement; returns how many counters it touched.

        Facts with the same key are summed first (Postgres refuses to update one row twice in one
        statement) and the rows go in key order, so concurrent transactions lock shared counters in
        the same order (they queue instead of deadlocking).
        """
        summed: dict[tuple[date, str, str, str], list[float]] = {}
        for f in facts:
            acc = summed.setdefault((f.day, f.metric, f.dim_kind, f.dim_value), [0, 0.0])
            acc[0] += f.count
            acc[1] += f.total
        if not summed:
            return 0
        rows = [
            {"day": k[0], "metric": k[1], "dim_kind": k[2], "dim_value": k[3], "count": int(c), "total": float(t)}
            for k, (c, t) in sorted(summed.items())
        ]
        stmt = pg_insert(kc).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(KEY),
            set_={
                "count": kc.c["count"] + stmt.excluded["count"],
                "total": kc.c["total"] + stmt.excluded["total"],
            },
        )
        await self.conn.execute(stmt)
        return len(rows)

    async def query(self, start_day: date, end_day: date, group_by: GroupBy) -> list[Summed]:
        """The counters of [start_day, end_day] (both included) that :func:`domain.kpis` needs.

        ``day``: the ``all`` counters per day. Otherwise: the ``all`` counters and those of the
        ``group_by`` dimension, summed over the period (``day`` None).
        """
        if group_by not in GROUP_BYS:
            raise ValueError(f"group_by must be one of {', '.join(GROUP_BYS)}")
        count, total = sa.func.sum(kc.c["count"]), sa.func.sum(kc.c["total"])
        in_range = kc.c.day.between(start_day, end_day)
        if group_by == "day":
            stmt = (
                sa.select(kc.c.day, kc.c.metric, kc.c.dim_kind, kc.c.dim_value, count, total)
                .where(in_range, kc.c.dim_kind == ALL)
                .group_by(kc.c.day, kc.c.metric, kc.c.dim_kind, kc.c.dim_value)
            )
        else:
            stmt = (
                sa.select(sa.null(), kc.c.metric, kc.c.dim_kind, kc.c.dim_value, count, total)
                .where(in_range, kc.c.dim_kind.in_([ALL, group_by]))
                .group_by(kc.c.metric, kc.c.dim_kind, kc.c.dim_value)
            )
        rows = (await self.conn.execute(stmt)).all()
        return [Summed(r[0], r[1], r[2], r[3], int(r[4]), float(r[5])) for r in rows]
