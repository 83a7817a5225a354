"""An in-memory :class:`services.metrics.store.MetricsStore` for handler unit tests."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.metrics.domain import DIMS, Days, Fact, Record, State
from services.metrics.domain.periods import bucket_start


@dataclass
class FakeMetricsStore:
    """The event log, entity states and fact counts, and every statement that reached them."""

    log_rows: dict[str, Record] = field(default_factory=dict)
    logged_days: dict[str, date] = field(default_factory=dict)
    states: dict[str, State] = field(default_factory=dict)
    counts: Counter[Fact] = field(default_factory=Counter)
    statements: list[str] = field(default_factory=list)

    # -- the store's methods --------------------------------------------------------------------
    async def log(self, records: Iterable[Record], days: Days) -> set[str]:
        unique = {r.event_id: r for r in records}
        if not unique:
            return set()
        self.statements.append("log")
        fresh = set()
        for event_id, r in unique.items():
            if event_id not in self.log_rows:
                self.log_rows[event_id] = r
                self.logged_days[event_id] = days.of(r.at)
                fresh.add(event_id)
        return fresh

    async def lock_states(self, entities: list[str], *, table: str = "entity_states") -> dict[str, State]:
        if not entities:
            return {}
        assert entities == sorted(entities), "entities are locked in key order"
        self.statements.append("lock_states")
        return {e: copy.deepcopy(self.states[e]) for e in entities if self.states.get(e)}

    async def save_states(self, states: Mapping[str, State], *, table: str = "entity_states") -> None:
        if not states:
            return
        self.statements.append("save_states")
        self.states.update(copy.deepcopy(dict(states)))

    async def add_facts(self, counts: Mapping[Fact, int], *, table: str = "kpi_daily") -> int:
        items = {f: n for f, n in counts.items() if n}
        if not items:
            return 0
        self.statements.append("add_facts")
        self.counts.update(items)
        return len(items)

    async def query(
        self, start: date, end: date, group_by: tuple[str, ...], *, without: tuple[str, ...] = ()
    ) -> list[tuple[Any, ...]]:
        summed: Counter[tuple[Any, ...]] = Counter()
        for f, n in self.counts.items():
            if not start <= f.day <= end or f.metric in without:
                continue
            keys = tuple(getattr(f, by) if by in DIMS else bucket_start(f.day, by) for by in group_by)
            summed[(keys, f.metric, f.value)] += n
        return [(keys, metric, value, n) for (keys, metric, value), n in summed.items() if n]

    async def breached_complaints(self) -> list[State]:
        return [
            copy.deepcopy(s)
            for e, s in self.states.items()
            if e.startswith("complaint:") and any("breach" in c for c in s.get("sla", {}).values())
        ]

    # -- what tests read ----------------------------------------------------------------------------
    def count(self, metric: str, **dims: Any) -> int:
        """How many facts of ``metric`` (with these dimension values, day or value) are counted."""
        return sum(
            n for f, n in self.counts.items() if f.metric == metric and all(getattr(f, k) == v for k, v in dims.items())
        )
