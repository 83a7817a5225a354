"""An in-memory :class:`services.metrics.store.MetricsStore` for handler unit tests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from services.metrics.domain import ALL, GROUP_BYS, Fact, GroupBy
from services.metrics.store import Summed

Key = tuple[date, str, str, str]  # day, metric, dim_kind, dim_value


@dataclass
class FakeMetricsStore:
    """The counters (key → count, total), and every write that reached them (one statement each)."""

    counters: dict[Key, tuple[int, float]] = field(default_factory=dict)
    writes: list[list[Fact]] = field(default_factory=list)

    # -- the store's methods --------------------------------------------------------------------
    async def add_facts(self, facts: Iterable[Fact]) -> int:
        facts = list(facts)
        touched: set[Key] = set()
        for f in facts:
            key = (f.day, f.metric, f.dim_kind, f.dim_value)
            count, total = self.counters.get(key, (0, 0.0))
            self.counters[key] = (count + f.count, total + f.total)
            touched.add(key)
        if touched:
            self.writes.append(facts)
        return len(touched)

    async def query(self, start_day: date, end_day: date, group_by: GroupBy) -> list[Summed]:
        if group_by not in GROUP_BYS:
            raise ValueError(f"group_by must be one of {', '.join(GROUP_BYS)}")
        summed: dict[tuple[date | None, str, str, str], list[float]] = {}
        for (day, metric, kind, value), (count, total) in self.counters.items():
            if not start_day <= day <= end_day:
                continue
            if group_by == "day" and kind == ALL:
                key: tuple[date | None, str, str, str] = (day, metric, kind, value)
            elif group_by != "day" and kind in (ALL, group_by):
                key = (None, metric, kind, value)
            else:
                continue
            acc = summed.setdefault(key, [0, 0.0])
            acc[0] += count
            acc[1] += total
        return [Summed(*k, int(c), float(t)) for k, (c, t) in summed.items()]

    # -- what tests read ----------------------------------------------------------------------------
    def count(self, metric: str, day: date, dim_kind: str = ALL, dim_value: str = ALL) -> int:
        """A counter's count (0 when it was never written)."""
        return self.counters.get((day, metric, dim_kind, dim_value), (0, 0.0))[0]
