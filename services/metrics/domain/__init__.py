"""Metrics' rules in plain Python (no broker, no database, no clock).

- :mod:`.records`: an event → its :class:`Record` (the event log's row), or a :class:`Refusal`;
- :mod:`.state`: the per-complaint / booking / request / customer states and how they merge;
- :mod:`.projection`: records → facts (the daily aggregate), the :class:`Projection` that applies
  records to states and aggregate in memory, the :class:`Policy`;
- :mod:`.figures`: counted facts of a period → the KPI figures, the scorecard, the CSV columns;
- :mod:`.periods`: reporting periods and groupings;
- :mod:`.live`: the live figures ops alert on (Prometheus gauges).
"""

from .calendar import BusinessHours, business_seconds
from .figures import (
    GRADES,
    SUMMARISED,
    Bucket,
    Summary,
    figures,
    flatten,
    grade,
    grade_zh,
    kpis,
    median,
    p90,
    ratio,
    scorecard_row,
)
from .live import Live, live, past_due
from .periods import GROUP_BYS, PERIODS, TIME_BUCKETS, parse_group_by, period_range, review_period
from .projection import DIMS, METRICS, SLA_TARGETS, Days, Fact, Metric, Policy, Projection, facts_of_states, touched
from .records import LOGGED_TYPES, Record, Refusal, record
from .state import State, merge

__all__ = [
    "DIMS",
    "GRADES",
    "GROUP_BYS",
    "LOGGED_TYPES",
    "METRICS",
    "PERIODS",
    "SLA_TARGETS",
    "SUMMARISED",
    "TIME_BUCKETS",
    "Bucket",
    "BusinessHours",
    "Days",
    "Fact",
    "Live",
    "Metric",
    "Policy",
    "Projection",
    "Record",
    "Refusal",
    "State",
    "Summary",
    "business_seconds",
    "facts_of_states",
    "figures",
    "flatten",
    "grade",
    "grade_zh",
    "kpis",
    "live",
    "median",
    "merge",
    "p90",
    "parse_group_by",
    "past_due",
    "period_range",
    "ratio",
    "record",
    "review_period",
    "scorecard_row",
    "touched",
]
