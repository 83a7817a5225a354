"""The KPI formulas: counted facts of a period (and a group) → the figures supervisors read.

The input is a :class:`Bucket`: for each metric, how many facts there were of each value
(``kpi_daily`` summed over the period's days, in one group), or for a duration the :class:`Summary`
of those values (what the mean, median and p90 read of them, computed once from the sorted values).
Every figure here is computed from that alone, exactly: counts, sums, ratios, means, medians and p90s
of the values themselves. README.md
("Metrics: the KPIs") defines each figure in words with its source events.

- mean: the sum of the values over their count, rounded to 0.1 s (2 places for scores);
- median: the middle value (the mean of the two middle values for an even count);
- p90: the nearest-rank 90th percentile, the smallest value with at least 90 % of the values at or
  below it;
- ratio: numerator / denominator to 4 places, null when the denominator is 0 or unknown.

A figure whose metrics are not broken down by the dimension(s) of a grouping (:data:`.projection.METRICS`)
is null in that grouping's groups (not 0: the data cannot say).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from itertools import accumulate
from operator import mul
from typing import Any, NamedTuple

from .projection import (
    AGENT_REPLIES,
    BOOKING_SURVEYS_ANSWERED,
    BOOKING_SURVEYS_REQUESTED,
    BOOKINGS_CANCELLED,
    BOOKINGS_CONFIRMED,
    BOOKINGS_CONFIRMED_OCCURRENCES,
    BOOKINGS_REJECTED,
    BOOKINGS_REQUESTED,
    BOOKINGS_RESCHEDULED,
    CALLBACKS,
    CALLS_MISSED,
    COHORT_EVER_RESOLVED,
    COHORT_FIRST_CONTACT,
    COHORT_REOPENED,
    COHORT_RESOLVED,
    COHORT_RESOLVED_IN_TIME,
    COMPLAINT_SURVEYS_ANSWERED,
    COMPLAINT_SURVEYS_REQUESTED,
    COMPLAINTS_ABOUT_AGENT,
    COMPLAINTS_CLOSED,
    COMPLAINTS_RECEIVED,
    COMPLAINTS_REGISTERED,
    COMPLAINTS_RESOLVED,
    COMPLAINTS_WITHDRAWN,
    DUE_ITEMS_PARKED,
    ESCALATIONS,
    FIRST_RESPONSE,
    FIRST_RESPONSE_BUSINESS,
    HANDLING_TIME,
    INQUIRIES,
    MEETINGS_COMPLETED,
    MEETINGS_SCHEDULED,
    METRICS,
    NEXT_RESPONSE,
    NEXT_RESPONSE_BUSINESS,
    NO_SHOWS,
    NOTIFICATIONS_FAILED,
    PHONE_ANSWERED,
    PREPARATION_OVERDUE,
    REJECTED_MESSAGES,
    REPLAYED_MESSAGES,
    REQUESTS_CONFIRMED,
    SATISFACTION,
    SLA_BREACHES,
    SLA_IN_TIME,
    SLA_LATE,
    SLA_MET,
    SLA_TARGETS,
    Metric,
)

# The durations whose values are many (about one per reply, complaint or target): /kpis reads their
# :class:`Summary` per group from the database instead of every value (the figures are the same).
SUMMARISED: tuple[str, ...] = tuple(
    m.name
    for m in (FIRST_RESPONSE, NEXT_RESPONSE, FIRST_RESPONSE_BUSINESS, NEXT_RESPONSE_BUSINESS, HANDLING_TIME,
              CALLBACKS, *SLA_MET.values())
)  # fmt: skip

# The seeds' satisfaction grades on the 100-point scale (lower bound, grade, 中文), best first.
GRADES = ((90.0, "excellent", "優秀"), (80.0, "good", "良好"), (60.0, "pass", "合格"), (0.0, "fail", "不合格"))
ESCALATION_LEVELS = (1, 2, 3)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 4)


def grade(score_100: float | None) -> str | None:
    """The seeds' grade of a 100-point satisfaction score (90+ excellent, 80-89 good, 60-79 pass, below 60 fail)."""
    found = _grade(score_100)
    return found[1] if found else None


def grade_zh(score_100: float | None) -> str | None:
    found = _grade(score_100)
    return found[2] if found else None


def _grade(score_100: float | None) -> tuple[float, str, str] | None:
    if score_100 is None:
        return None
    for row in GRADES:
        if score_100 >= row[0]:
            return row
    return GRADES[-1]


def median(hist: Mapping[int, int]) -> float | None:
    """The median of values counted in ``hist`` (value → how many): the middle one, or the mean of
    the two middle ones."""
    n = sum(hist.values())
    if n == 0:
        return None
    lo, hi = _at_rank(hist, (n + 1) // 2), _at_rank(hist, n // 2 + 1)
    return lo if n % 2 else (lo + hi) / 2


def p90(hist: Mapping[int, int]) -> float | None:
    """Nearest rank: the value at rank ⌈0.9 n⌉ in ascending order."""
    n = sum(hist.values())
    return _at_rank(hist, -(-9 * n // 10)) if n else None


def _at_rank(hist: Mapping[int, int], rank: int) -> float:
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= rank:
            return float(value)
    raise ValueError("rank beyond the count")


class Summary(NamedTuple):
    """What the figures read of a duration's values: how many, their sum, the two middle values (the
    same one for an odd count) and the value at the p90's rank (nearest rank ⌈0.9 n⌉), computed once
    per group from its sorted values instead of from a histogram dict."""

    n: int
    total: int
    lo: int
    hi: int
    p90: int

    @classmethod
    def of_sorted(cls, values: Sequence[int], counts: Sequence[int]) -> Summary:
        """The summary of ascending distinct ``values`` counted ``counts`` times (each count > 0): the
        ranks by cumulative counts, found by bisection."""
        cum = list(accumulate(counts))
        n = cum[-1]

        def at(rank: int) -> int:
            return values[bisect_left(cum, rank)]

        return cls(n, sum(map(mul, values, counts)), at((n + 1) // 2), at(n // 2 + 1), at(-(-9 * n // 10)))

    @classmethod
    def of_values(cls, ordered: Sequence[int]) -> Summary:
        """The summary of ``ordered``: every value as often as it was counted, ascending (not empty)."""
        n = len(ordered)
        return cls(n, sum(ordered), ordered[(n + 1) // 2 - 1], ordered[n // 2], ordered[-(-9 * n // 10) - 1])


class Bucket:
    """The counted facts of one group: metric → {value → count}, or for the durations of
    :data:`SUMMARISED` their :class:`Summary`; ``grouped``: the dimensions of the grouping (a metric not
    broken down by all of them gives null)."""

    def __init__(self, grouped: Iterable[str] = ()):
        self.hist: dict[str, dict[int, int]] = {}
        self.summaries: dict[str, Summary] = {}
        self.grouped = tuple(grouped)
        self._values: dict[str, dict[int, int]] = {}  # the nonzero counts, once read (figures read each often)
        self._summaries: dict[str, Summary] = {}  # summaries of those, once computed
        self._known: dict[str, bool] = {}  # whether the grouping's dimensions are a metric's

    def summarise(self, metric: str, summary: Summary) -> None:
        self.summaries[metric] = summary

    def add(self, metric: str, value: int, count: int) -> None:
        values = self.hist.get(metric)
        if values is None:
            values = self.hist[metric] = {}
        values[value] = values.get(value, 0) + count
        self._values.pop(metric, None)
        self._summaries.pop(metric, None)

    def merge(self, other: Bucket) -> None:
        for metric, values in other.hist.items():
            for value, count in values.items():
                self.add(metric, value, count)

    def known(self, metric: Metric) -> bool:
        if not self.grouped:  # grouped by time only (or not at all): every metric is known
            return True
        found = self._known.get(metric.name)
        if found is None:
            found = self._known[metric.name] = all(dim in metric.by for dim in self.grouped)
        return found

    def values(self, metric: Metric) -> dict[int, int]:
        found = self._values.get(metric.name)
        if found is None:
            found = self._values[metric.name] = {v: c for v, c in self.hist.get(metric.name, {}).items() if c}
        return found

    def n(self, metric: Metric) -> int | None:
        if not self.known(metric):
            return None
        summary = self.summaries.get(metric.name)
        return summary.n if summary is not None else sum(self.values(metric).values())

    def n_of(self, metric: Metric, value: int) -> int | None:
        return self.values(metric).get(value, 0) if self.known(metric) else None

    def n_at_most(self, metric: Metric, limit: float) -> int | None:
        if not self.known(metric):
            return None
        return sum(c for v, c in self.values(metric).items() if v <= limit)

    def summary(self, metric: Metric) -> Summary | None:
        """The values' summary: as the database gave it, or from the counted values (sorted once)."""
        found = self.summaries.get(metric.name) or self._summaries.get(metric.name)
        if found is None:
            values = self.values(metric)
            if not values:
                return None
            ordered = sorted(values)
            found = self._summaries[metric.name] = Summary.of_sorted(ordered, [values[v] for v in ordered])
        return found

    def mean(self, metric: Metric, digits: int = 1) -> float | None:
        summary = self.summary(metric) if self.known(metric) else None
        return round(summary.total / summary.n, digits) if summary is not None else None

    def median(self, metric: Metric) -> float | None:
        summary = self.summary(metric) if self.known(metric) else None
        if summary is None:
            return None
        return float(summary.lo) if summary.n % 2 else (summary.lo + summary.hi) / 2

    def p90(self, metric: Metric) -> float | None:
        summary = self.summary(metric) if self.known(metric) else None
        return float(summary.p90) if summary is not None else None

    def times(self, metric: Metric, count_key: str = "count") -> dict[str, Any]:
        """Count, mean, median and p90 of a duration (seconds)."""
        return {
            count_key: self.n(metric),
            "average_seconds": self.mean(metric),
            "median_seconds": self.median(metric),
            "p90_seconds": self.p90(metric),
        }


def _add(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


def _less(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a - b


def figures(b: Bucket, *, now: float, answer_target_seconds: float) -> dict[str, Any]:
    """Every KPI of one group. ``now`` (epoch seconds): meetings still on the calendar count as held
    once their end has passed; ``answer_target_seconds``: the phone answer target."""
    n = b.n
    inquiries, registered, withdrawn = n(INQUIRIES), n(COMPLAINTS_REGISTERED), n(COMPLAINTS_WITHDRAWN)
    active = _less(registered, withdrawn)  # registered and not withdrawn: the cohort's denominator
    ever_resolved = n(COHORT_EVER_RESOLVED)
    held = _add(n(MEETINGS_COMPLETED), b.n_at_most(MEETINGS_SCHEDULED, now))
    answered, missed = n(PHONE_ANSWERED), n(CALLS_MISSED)
    within = b.n_at_most(PHONE_ANSWERED, answer_target_seconds)
    calls = _add(answered, missed)
    replies, about_agent = n(AGENT_REPLIES), n(COMPLAINTS_ABOUT_AGENT)
    score = b.mean(SATISFACTION, 2)
    responses = n(SATISFACTION)
    points = sum(v * c for v, c in b.values(SATISFACTION).items())
    score_100 = round(points * 20 / responses, 2) if responses else None
    good = _add(b.n_of(SATISFACTION, 4), b.n_of(SATISFACTION, 5))
    booking_asked, booking_answered = n(BOOKING_SURVEYS_REQUESTED), n(BOOKING_SURVEYS_ANSWERED)
    complaint_asked, complaint_answered = n(COMPLAINT_SURVEYS_REQUESTED), n(COMPLAINT_SURVEYS_ANSWERED)
    return {
        "inquiries": inquiries,
        "bookings": {
            "requested": n(BOOKINGS_REQUESTED),
            "confirmed": n(BOOKINGS_CONFIRMED),
            "rejected": n(BOOKINGS_REJECTED),
            "cancelled": n(BOOKINGS_CANCELLED),
            "rescheduled": n(BOOKINGS_RESCHEDULED),
            "confirmed_occurrences": n(BOOKINGS_CONFIRMED_OCCURRENCES),
            "confirmation_rate": ratio(n(REQUESTS_CONFIRMED), n(BOOKINGS_REQUESTED)),
            "requests_confirmed": n(REQUESTS_CONFIRMED),
            "no_shows": n(NO_SHOWS),
            "preparation_overdue": n(PREPARATION_OVERDUE),
            "meetings_held": held,
        },
        "complaints": {
            "received": n(COMPLAINTS_RECEIVED),
            "registered": registered,
            "resolved": n(COMPLAINTS_RESOLVED),
            "closed": n(COMPLAINTS_CLOSED),
            "escalated": n(ESCALATIONS),
            "escalations_by_level": {str(level): b.n_of(ESCALATIONS, level) for level in _levels(b)},
            "withdrawn": withdrawn,
            "cohort": {
                "registered": active,
                "resolved": n(COHORT_RESOLVED),
                "resolved_in_time": n(COHORT_RESOLVED_IN_TIME),
                "ever_resolved": ever_resolved,
                "reopened": n(COHORT_REOPENED),
                "first_contact": n(COHORT_FIRST_CONTACT),
                "resolution_rate": ratio(n(COHORT_RESOLVED), active),
                "resolved_in_time_rate": ratio(n(COHORT_RESOLVED_IN_TIME), active),
                "reopen_rate": ratio(n(COHORT_REOPENED), ever_resolved),
                "first_contact_rate": ratio(n(COHORT_FIRST_CONTACT), active),
            },
            "per_meeting_held": ratio(registered, held),
            "about_agent": about_agent,
            "about_agent_per_reply": ratio(about_agent, replies),
        },
        "complaint_rate": ratio(registered, inquiries),
        "resolution_rate": ratio(n(COHORT_RESOLVED), active),
        "handling_time": b.times(HANDLING_TIME),
        "satisfaction": {
            "responses": responses,
            "average": score_100,
            "grade": grade(score_100),
            "grade_zh": grade_zh(score_100),
            "mean_score": score,
            "share_4_5": ratio(good, responses),
        },
        "surveys": {
            "booking": {
                "requested": booking_asked,
                "answered": booking_answered,
                "response_rate": ratio(booking_answered, booking_asked),
            },
            "complaint": {
                "requested": complaint_asked,
                "answered": complaint_answered,
                "response_rate": ratio(complaint_answered, complaint_asked),
            },
        },
        "first_response": b.times(FIRST_RESPONSE, "replies"),
        "next_response": b.times(NEXT_RESPONSE, "replies"),
        "first_response_business": b.times(FIRST_RESPONSE_BUSINESS, "replies"),
        "next_response_business": b.times(NEXT_RESPONSE_BUSINESS, "replies"),
        "agent_replies": replies,
        "missed_calls": missed,
        "phone": {
            "answered": answered,
            "missed": missed,
            "calls": calls,
            "missed_call_rate": ratio(missed, calls),
            "target_seconds": answer_target_seconds,
            "answered_within_target": within,
            "answered_within_target_rate": ratio(within, answered),
            "callbacks": n(CALLBACKS),
            "callback_rate": ratio(n(CALLBACKS), missed),
            "callback_median_seconds": b.median(CALLBACKS),
        },
        "sla_breaches": {
            "total": n(SLA_BREACHES),
            "acknowledge": b.n_of(SLA_BREACHES, 1),
            "resolve": b.n_of(SLA_BREACHES, 2),
        },
        "sla": {
            which: {
                "met": n(SLA_MET[which]),
                "met_in_time": n(SLA_IN_TIME[which]),
                "late": n(SLA_LATE[which]),
                "compliance": ratio(n(SLA_IN_TIME[which]), _add(n(SLA_IN_TIME[which]), n(SLA_LATE[which]))),
                "average_seconds": b.mean(SLA_MET[which]),
                "median_seconds": b.median(SLA_MET[which]),
                "p90_seconds": b.p90(SLA_MET[which]),
            }
            for which in SLA_TARGETS
        },
        "rejected_messages": n(REJECTED_MESSAGES),
        "notifications_failed": n(NOTIFICATIONS_FAILED),
        "replayed_messages": n(REPLAYED_MESSAGES),
        "due_items_parked": n(DUE_ITEMS_PARKED),
    }


def _levels(b: Bucket) -> list[int]:
    return sorted(set(ESCALATION_LEVELS) | set(b.values(ESCALATIONS)))


# -- the agent scorecard (seed 002: monthly assessment, quarterly review) ---------------------------------
SCORECARD_FIELDS: tuple[tuple[str, str], ...] = (
    ("replies", "agent_replies"),
    ("first_response_average_seconds", "first_response.average_seconds"),
    ("first_response_median_seconds", "first_response.median_seconds"),
    ("first_response_p90_seconds", "first_response.p90_seconds"),
    ("next_response_average_seconds", "next_response.average_seconds"),
    ("next_response_median_seconds", "next_response.median_seconds"),
    ("next_response_p90_seconds", "next_response.p90_seconds"),
    ("first_response_business_average_seconds", "first_response_business.average_seconds"),
    ("first_response_business_median_seconds", "first_response_business.median_seconds"),
    ("first_response_business_p90_seconds", "first_response_business.p90_seconds"),
    ("next_response_business_median_seconds", "next_response_business.median_seconds"),
    ("calls_answered", "phone.answered"),
    ("calls_answered_within_target_rate", "phone.answered_within_target_rate"),
    ("complaints_handled", "complaints.cohort.registered"),
    ("resolution_rate", "complaints.cohort.resolution_rate"),
    ("resolved_in_time_rate", "complaints.cohort.resolved_in_time_rate"),
    ("reopen_rate", "complaints.cohort.reopen_rate"),
    ("first_contact_rate", "complaints.cohort.first_contact_rate"),
    ("handling_time_average_seconds", "handling_time.average_seconds"),
    ("handling_time_median_seconds", "handling_time.median_seconds"),
    ("handling_time_p90_seconds", "handling_time.p90_seconds"),
    ("formal_reply_sla_compliance", "sla.acknowledge.compliance"),
    ("resolution_sla_compliance", "sla.resolve.compliance"),
    ("escalations", "complaints.escalated"),
    ("complaints_about_agent", "complaints.about_agent"),
    ("complaints_about_agent_per_reply", "complaints.about_agent_per_reply"),
    ("satisfaction_responses", "satisfaction.responses"),
    ("satisfaction_mean_score", "satisfaction.mean_score"),
    ("satisfaction_share_4_5", "satisfaction.share_4_5"),
    ("satisfaction_score_100", "satisfaction.average"),
    ("grade", "satisfaction.grade"),
    ("grade_zh", "satisfaction.grade_zh"),
)


def pick(figs: Mapping[str, Any], path: str) -> Any:
    value: Any = figs
    for part in path.split("."):
        value = value[part]
    return value


def scorecard_row(agent: str, figs: Mapping[str, Any]) -> dict[str, Any]:
    """One agent's row: every KPI the review reads, and the grade of the satisfaction score."""
    return {"agent": agent} | {name: pick(figs, path) for name, path in SCORECARD_FIELDS}


def flatten(figs: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested figures as ``a.b.c`` columns (the CSV)."""
    out: dict[str, Any] = {}
    for key, value in figs.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out |= flatten(value, f"{name}.")
        else:
            out[name] = value
    return out


def declared(metric: str) -> Metric:
    return METRICS[metric]


# -- a query's rows → the report -------------------------------------------------------------------------
Row = tuple[tuple[Any, ...], str, int, int]  # (group keys, metric, value, count)
SummaryRow = tuple[tuple[Any, ...] | None, str, Summary]  # (group keys, or None for the totals; metric; summary)


def kpis(
    rows: Iterable[Row],
    group_by: tuple[str, ...],
    *,
    now: float,
    answer_target_seconds: float,
    summaries: Iterable[SummaryRow] = (),
) -> dict[str, Any]:
    """Totals and one group per key of ``group_by`` (one or two of day/week/month/quarter and
    channel/agent/category/room …). ``rows``: counted facts with their group keys in ``group_by``'s
    order — a time bucket's first day, or a dimension's value ("" when unknown: the group keyed
    null); ``summaries``: for metrics of :data:`SUMMARISED`, their summary per group and over all
    (keys None), when the rows leave their values out. Groups are sorted by key (unknown last); keys
    with no facts do not appear."""
    from .periods import TIME_BUCKETS, bucket_label

    grouped = tuple(g for g in group_by if g not in TIME_BUCKETS)
    totals, groups = Bucket(), dict[tuple[Any, ...], Bucket]()
    # the buckets are filled before any figure reads them: their histograms directly (no cache to reset)
    total_hist, hists = totals.hist, dict[tuple[Any, ...], dict[str, dict[int, int]]]()
    for keys, metric, value, count in rows:
        values = total_hist.get(metric)
        if values is None:
            values = total_hist[metric] = {}
        values[value] = values.get(value, 0) + count
        hist = hists.get(keys)
        if hist is None:
            hist = hists[keys] = groups.setdefault(keys, Bucket(grouped)).hist
        values = hist.get(metric)
        if values is None:
            values = hist[metric] = {}
        values[value] = values.get(value, 0) + count
    for keys, metric, summary in summaries:
        if keys is None:
            totals.summarise(metric, summary)
            continue
        bucket = groups.get(keys)
        if bucket is None:
            bucket = groups[keys] = Bucket(grouped)
        bucket.summarise(metric, summary)

    def label(key: Any, by: str) -> str | None:
        if by in TIME_BUCKETS:
            return bucket_label(key, by)
        return key or None

    def order(keys: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple((not k, k) for k in keys)

    params = {"now": now, "answer_target_seconds": answer_target_seconds}
    out = []
    for keys in sorted(groups, key=order):
        labels = [label(k, by) for k, by in zip(keys, group_by, strict=True)]
        out.append({"key": labels[0] if len(labels) == 1 else labels, **figures(groups[keys], **params)})
    return {"totals": figures(totals, **params), "groups": out}
