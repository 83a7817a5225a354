"""The live figures ops alert on (Prometheus gauges on metrics' ``/metrics``), in plain Python.

- SLA compliance today, per target: of the formal-reply and resolution targets decided today (venue
  day), the share decided in time — the same figure as ``/kpis?period=today`` ``sla.<target>.compliance``;
- open complaints past due, per target: complaints whose target was breached and has not been met
  since, neither withdrawn nor closed after the breach (a complaint reopened and breached again
  counts again).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .projection import SLA_TARGETS
from .state import State


def past_due(state: State) -> list[str]:
    """The targets (``acknowledge``, ``resolve``) of one complaint's state that are past due now."""
    if "withdrawn" in state:
        return []
    closed = state.get("closed")
    out = set()
    for key, cycle in state.get("sla", {}).items():
        which = key.partition(":")[0]
        breach = cycle.get("breach")
        if which in SLA_TARGETS and breach and "met" not in cycle and (closed is None or closed < breach[0][0]):
            out.add(which)
    return sorted(out)


@dataclass(frozen=True)
class Live:
    """The gauges' values: per target, targets decided today, decided in time, compliance (None when
    none was decided) and open complaints past due."""

    decided_today: Mapping[str, int]
    in_time_today: Mapping[str, int]
    past_due: Mapping[str, int]

    def compliance_today(self, which: str) -> float | None:
        decided = self.decided_today[which]
        return round(self.in_time_today[which] / decided, 4) if decided else None


def live(today: Mapping[str, Any], complaint_states: Iterable[State]) -> Live:
    """``today``: the totals of today's figures (:func:`.figures.figures`); ``complaint_states``: the
    states of complaints that have had a breach (others cannot be past due)."""
    due = dict.fromkeys(SLA_TARGETS, 0)
    for state in complaint_states:
        for which in past_due(state):
            due[which] += 1
    sla = today["sla"]
    return Live(
        decided_today={w: (sla[w]["met_in_time"] or 0) + (sla[w]["late"] or 0) for w in SLA_TARGETS},
        in_time_today={w: sla[w]["met_in_time"] or 0 for w in SLA_TARGETS},
        past_due=due,
    )
