"""KPI rules, in plain Python (no broker, no database, no clock).

Every event becomes a handful of counter increments (:class:`Fact`): on a day in the venue's time
zone, a :class:`Metric`, one dimension (``all`` or a channel, agent, category, intent or room) with
its value, a count and a total (for averages). :func:`facts` decides which increments an event
stands for (or refuses an event whose data breaks the contract, :class:`Refusal`), and which of them
count only the first time their business fact is seen (:func:`counted`); the store adds them up;
:func:`kpis` turns the summed counters into the figures supervisors read (DOMAIN.md, KPIs):
satisfaction with its grade, complaint rate, resolution rate, average first response, bookings,
missed calls, SLA breaches, and for operations the messages dead-lettered and replayed and the due
items parked.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal, Protocol, get_args
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from shared.contract.common import Channel
from shared.contract.events import (
    AgentReplied,
    BookingCancelled,
    BookingConfirmed,
    BookingRejected,
    BookingRequested,
    BookingRescheduled,
    CallMissed,
    CommandRejected,
    ComplaintClock,
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintRegistered,
    ComplaintSlaBreached,
    ComplaintStatusChanged,
    DueItemParked,
    Envelope,
    EventData,
    FeedbackReceived,
    InquiryReceived,
    IntakeRejected,
    MessageRejected,
    MessageReplayed,
)

# -- enumerations (from the contract where it has them) -------------------------------------------
ALL = "all"
DimKind = Literal["channel", "agent", "category", "intent", "room"]
GroupBy = Literal["day", "channel", "agent", "category", "room"]
GROUP_BYS: tuple[str, ...] = get_args(GroupBy)
CHANNELS = frozenset(get_args(Channel))
SLA_DEADLINES: tuple[str, ...] = get_args(ComplaintSlaBreached.model_fields["which"].annotation)
MAX_DIM_VALUE = 200  # agent and room ids are free text from other systems

# The seeds' satisfaction grades on the 100-point scale (lower bound, grade), best first.
GRADES = ((90.0, "excellent"), (80.0, "good"), (60.0, "pass"), (0.0, "fail"))
# A complaint that is reopened and resolved again counts once towards the resolution rate.
RESOLVED = "resolved"


@dataclass(frozen=True)
class Policy:
    """What the metrics service decides with: the venue's time zone (its days, its "today")."""

    tz: ZoneInfo


@dataclass(frozen=True)
class Fact:
    """One counter increment. ``once``: count it only the first time this key is seen (see
    :func:`counted`); used where one business fact arrives as several events."""

    day: date
    metric: str
    dim_kind: str
    dim_value: str
    count: int = 1
    total: float = 0.0
    once: str | None = None


@dataclass(frozen=True)
class Refusal:
    """Why an event cannot be counted: its data breaks the contract (it is dead-lettered)."""

    reason: str


class CounterRow(Protocol):
    """What :func:`kpis` reads: a :class:`Fact`, a ``kpi_counters`` row or a summed query row."""

    day: date | None
    metric: str
    dim_kind: str
    dim_value: str
    count: int
    total: float


# -- metrics ------------------------------------------------------------------------------------
METRICS: dict[str, Metric] = {}


@dataclass(frozen=True)
class Metric:
    """A counter the rules add to, broken down by ``by`` besides ``all`` (declared once here: the
    rules can only give these dimensions, and :func:`figures` shows the metric only in them)."""

    name: str
    by: tuple[DimKind, ...] = ()

    def __post_init__(self) -> None:
        if self.name in METRICS:
            raise ValueError(f"metric {self.name!r} is declared twice")
        METRICS[self.name] = self

    def facts(self, day: date, *, total: float = 0.0, once: str | None = None, **values: str | None) -> list[Fact]:
        """One increment of ``all`` and one per dimension whose value is known; ``values`` gives
        every dimension of :attr:`by` (None: unknown)."""
        if set(values) != set(self.by):
            raise TypeError(f"{self.name} is broken down by {self.by}, not {tuple(values)}")
        dims = [(ALL, ALL)] + [(kind, value[:MAX_DIM_VALUE]) for kind in self.by if (value := values[kind])]
        return [Fact(day, self.name, kind, value, 1, total, once) for kind, value in dims]


INQUIRIES = Metric("inquiries", ("channel", "intent", "agent"))
COMPLAINTS_RECEIVED = Metric("complaints_received", ("channel", "category"))
BOOKINGS_REQUESTED = Metric("bookings_requested", ("channel",))
BOOKINGS_CONFIRMED = Metric("bookings_confirmed", ("room",))
BOOKINGS_CONFIRMED_OCCURRENCES = Metric("bookings_confirmed_occurrences", ("room",))
BOOKINGS_REJECTED = Metric("bookings_rejected", ("category",))
BOOKINGS_CANCELLED = Metric("bookings_cancelled", ("room",))
BOOKINGS_RESCHEDULED = Metric("bookings_rescheduled", ("room",))
CALLS_MISSED = Metric("calls_missed", ("channel",))
AGENT_REPLIES = Metric("agent_replies", ("channel", "agent"))
FIRST_RESPONSE_SECONDS = Metric("first_response_seconds", ("channel", "agent"))
COMPLAINTS_REGISTERED = Metric("complaints_registered", ("category", "channel"))
COMPLAINTS_RESOLVED = Metric("complaints_resolved", ("category", "agent"))
COMPLAINTS_CLOSED = Metric("complaints_closed", ("category",))
COMPLAINTS_ESCALATED = Metric("complaints_escalated")
SLA_BREACHES = Metric("sla_breaches")
SLA_BREACHES_BY_DEADLINE = {which: Metric(f"sla_breaches_{which}") for which in SLA_DEADLINES}
SATISFACTION = Metric("satisfaction", ("channel", "agent", "room"))
# The SLA clock (complaint.clock): a target met, and whether in time; ``total`` = the counted
# (running) seconds it took, paused time excluded — the formal-reply and handling times
SLA_MET = {which: Metric(f"sla_{which}_met", ("category", "agent")) for which in SLA_DEADLINES}
SLA_MET_IN_TIME = {which: Metric(f"sla_{which}_met_in_time", ("category", "agent")) for which in SLA_DEADLINES}
REJECTED_MESSAGES = Metric("rejected_messages", ("channel",))
REPLAYED_MESSAGES = Metric("replayed_messages")
DUE_ITEMS_PARKED = Metric("due_items_parked")


# -- events → facts -----------------------------------------------------------------------------
def local_day(ts: datetime, tz: ZoneInfo) -> date:
    return ts.astimezone(tz).date()


def _inquiry(d: InquiryReceived, at: datetime, tz: ZoneInfo) -> list[Fact]:
    day = local_day(d.received_at, tz)
    out = INQUIRIES.facts(day, channel=d.channel, intent=d.intent, agent=d.agent_id)
    if d.intent == "complaint":
        out += COMPLAINTS_RECEIVED.facts(day, channel=d.channel, category=d.category)
    return out


def _booking_requested(d: BookingRequested, at: datetime, tz: ZoneInfo) -> list[Fact]:
    return BOOKINGS_REQUESTED.facts(local_day(at, tz), channel=d.channel)


def _booking_confirmed(d: BookingConfirmed, at: datetime, tz: ZoneInfo) -> list[Fact]:
    day = local_day(at, tz)
    # A recurring request is confirmed once per occurrence: the room usage counts every one, the
    # confirmation rate counts the request once.
    once = f"booking-series:{d.series_id}" if d.series_id else None
    return BOOKINGS_CONFIRMED_OCCURRENCES.facts(day, room=d.room_id) + BOOKINGS_CONFIRMED.facts(
        day, room=d.room_id, once=once
    )


def _booking_rejected(d: BookingRejected, at: datetime, tz: ZoneInfo) -> list[Fact]:
    return BOOKINGS_REJECTED.facts(local_day(at, tz), category=d.reason_code)


def _booking_cancelled(d: BookingCancelled, at: datetime, tz: ZoneInfo) -> list[Fact]:
    return BOOKINGS_CANCELLED.facts(local_day(at, tz), room=d.room_id)


def _booking_rescheduled(d: BookingRescheduled, at: datetime, tz: ZoneInfo) -> list[Fact]:
    return BOOKINGS_RESCHEDULED.facts(local_day(at, tz), room=d.room_id)


def _call_missed(d: CallMissed, at: datetime, tz: ZoneInfo) -> list[Fact]:
    return CALLS_MISSED.facts(local_day(d.started_at, tz), channel="phone")


def _agent_replied(d: AgentReplied, at: datetime, tz: ZoneInfo) -> list[Fact]:
    day = local_day(d.replied_at, tz)
    out = AGENT_REPLIES.facts(day, channel=d.channel, agent=d.agent_id)
    if d.first_reply and d.response_seconds is not None and math.isfinite(d.response_seconds):
        seconds = max(0.0, float(d.response_seconds))
        out += FIRST_RESPONSE_SECONDS.facts(day, total=seconds, channel=d.channel, agent=d.agent_id)
    return out


def _complaint_registered(d: ComplaintRegistered, at: datetime, tz: ZoneInfo) -> list[Fact]:
    return COMPLAINTS_REGISTERED.facts(local_day(d.registered_at, tz), category=d.category, channel=d.channel)


def _complaint_status_changed(d: ComplaintStatusChanged, at: datetime, tz: ZoneInfo) -> list[Fact]:
    if d.to != RESOLVED:
        return []
    return COMPLAINTS_RESOLVED.facts(
        local_day(at, tz), category=d.category, agent=d.agent_id or d.actor, once=f"resolved:{d.complaint_id}"
    )


def _complaint_closed(d: ComplaintClosed, at: datetime, tz: ZoneInfo) -> list[Fact]:
    return COMPLAINTS_CLOSED.facts(local_day(at, tz), category=d.category, once=f"closed:{d.complaint_id}")


def _sla_breached(d: ComplaintSlaBreached, at: datetime, tz: ZoneInfo) -> list[Fact]:
    day = local_day(at, tz)
    return SLA_BREACHES.facts(day) + SLA_BREACHES_BY_DEADLINE[d.which].facts(day)


def _clock(d: ComplaintClock, at: datetime, tz: ZoneInfo) -> list[Fact]:
    """A target met counts once per complaint, target and cycle (a redelivery or a replayed log
    counts once), in time when it took no longer than its target; other transitions feed no figure."""
    if d.transition != "met":
        return []
    day, once = local_day(d.at, tz), f"sla-met:{d.complaint_id}:{d.which}:{d.cycle}"
    facts = SLA_MET[d.which].facts(day, total=d.elapsed_seconds, once=once, category=d.category, agent=d.agent_id)
    if d.elapsed_seconds <= d.target_seconds:
        facts += SLA_MET_IN_TIME[d.which].facts(day, once=once, category=d.category, agent=d.agent_id)
    return facts


def _escalated(d: ComplaintEscalated, at: datetime, tz: ZoneInfo) -> list[Fact]:
    return COMPLAINTS_ESCALATED.facts(local_day(at, tz))


def _feedback(d: FeedbackReceived, at: datetime, tz: ZoneInfo) -> list[Fact]:
    return SATISFACTION.facts(
        local_day(at, tz), total=float(d.score_100), channel=d.channel, agent=d.agent_id, room=d.room_id
    )


def _rejected(d: IntakeRejected | MessageRejected | CommandRejected, at: datetime, tz: ZoneInfo) -> list[Fact]:
    # intake's channel is the routing key a publisher chose: only a known channel is a dimension
    channel = d.channel if isinstance(d, IntakeRejected) and d.channel in CHANNELS else None
    return REJECTED_MESSAGES.facts(local_day(at, tz), channel=channel)


def _replayed(d: MessageReplayed, at: datetime, tz: ZoneInfo) -> list[Fact]:
    # every replay counts (a message replayed twice came back twice); the day of the replay
    return REPLAYED_MESSAGES.facts(local_day(at, tz))


def _parked(d: DueItemParked, at: datetime, tz: ZoneInfo) -> list[Fact]:
    # every parking counts (an item re-driven and parked again failed twice); the day it was parked
    return DUE_ITEMS_PARKED.facts(local_day(at, tz))


# event data model → its rule: the data, when the event occurred, the venue's time zone
RULES: Mapping[type[EventData], Callable[[Any, datetime, ZoneInfo], list[Fact]]] = {
    InquiryReceived: _inquiry,
    BookingRequested: _booking_requested,
    BookingConfirmed: _booking_confirmed,
    BookingRejected: _booking_rejected,
    BookingCancelled: _booking_cancelled,
    BookingRescheduled: _booking_rescheduled,
    CallMissed: _call_missed,
    AgentReplied: _agent_replied,
    ComplaintRegistered: _complaint_registered,
    ComplaintStatusChanged: _complaint_status_changed,
    ComplaintClosed: _complaint_closed,
    ComplaintSlaBreached: _sla_breached,
    ComplaintEscalated: _escalated,
    ComplaintClock: _clock,
    FeedbackReceived: _feedback,
    IntakeRejected: _rejected,
    MessageRejected: _rejected,
    CommandRejected: _rejected,
    MessageReplayed: _replayed,
    DueItemParked: _parked,
}
_BY_TYPE = {model.event_type: (model, rule) for model, rule in RULES.items()}


def facts(envelope: Envelope, tz: ZoneInfo) -> list[Fact] | Refusal:
    """The counter increments one event stands for, on the days of ``tz``; [] for types that feed
    no KPI; a :class:`Refusal` when a known type's data breaks the contract."""
    found = _BY_TYPE.get(envelope.type)
    if found is None:
        return []
    model, rule = found
    try:
        data = model.model_validate(envelope.data)
    except ValidationError as exc:
        # where and what, never the offending values (they may be a customer's phone or email)
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(data)'}: {e['msg']}" for e in exc.errors()[:5])
        return Refusal(f"{envelope.type} data invalid: {problems}")
    return rule(data, envelope.occurred_at, tz)


# -- counting once ------------------------------------------------------------------------------
def once_keys(found: Iterable[Fact]) -> list[str]:
    """The count-once keys among these facts, each once, in order: whether each has been seen
    before is what :func:`counted` needs to know."""
    return list(dict.fromkeys(f.once for f in found if f.once is not None))


def counted(found: Iterable[Fact], first_seen: Mapping[str, bool]) -> list[Fact]:
    """The facts that count: all of them, except a count-once fact whose key was seen before
    (``first_seen[key]`` False): the second occurrence of a series confirms no second booking, a
    complaint resolved again after reopening is not resolved twice."""
    return [f for f in found if f.once is None or first_seen[f.once]]


# -- summed counters → KPI figures ----------------------------------------------------------------
def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 4)


def grade(score_100: float | None) -> str | None:
    """The seeds' grade of a 100-point satisfaction score."""
    if score_100 is None:
        return None
    for bound, name in GRADES:
        if score_100 >= bound:
            return name
    return GRADES[-1][1]


def figures(counters: dict[str, tuple[int, float]], dim_kind: str = ALL) -> dict[str, Any]:
    """The KPI figures of one bucket of summed counters (metric → (count, total)) of a dimension.

    A metric not broken down by ``dim_kind`` (:attr:`Metric.by`) is null there (not 0): the
    rules never count it that way; and so is any ratio using it.
    """

    def n(metric: Metric) -> int | None:
        if dim_kind != ALL and dim_kind not in metric.by:
            return None
        return int(counters.get(metric.name, (0, 0.0))[0])

    def avg(metric: Metric, digits: int) -> float | None:
        count, total = counters.get(metric.name, (0, 0.0))
        return round(total / count, digits) if count and n(metric) is not None else None

    satisfaction = avg(SATISFACTION, 2)
    inquiries, registered = n(INQUIRIES), n(COMPLAINTS_REGISTERED)
    return {
        "inquiries": inquiries,
        "bookings": {
            "requested": n(BOOKINGS_REQUESTED),
            "confirmed": n(BOOKINGS_CONFIRMED),
            "rejected": n(BOOKINGS_REJECTED),
            "cancelled": n(BOOKINGS_CANCELLED),
            "rescheduled": n(BOOKINGS_RESCHEDULED),
            "confirmed_occurrences": n(BOOKINGS_CONFIRMED_OCCURRENCES),
            "confirmation_rate": ratio(n(BOOKINGS_CONFIRMED), n(BOOKINGS_REQUESTED)),
        },
        "complaints": {
            "received": n(COMPLAINTS_RECEIVED),
            "registered": registered,
            "resolved": n(COMPLAINTS_RESOLVED),
            "closed": n(COMPLAINTS_CLOSED),
            "escalated": n(COMPLAINTS_ESCALATED),
        },
        "complaint_rate": ratio(registered, inquiries),
        "resolution_rate": ratio(n(COMPLAINTS_RESOLVED), registered),
        "satisfaction": {
            "responses": n(SATISFACTION),
            "average": satisfaction,
            "grade": grade(satisfaction),
        },
        "first_response": {
            "replies": n(FIRST_RESPONSE_SECONDS),
            "average_seconds": avg(FIRST_RESPONSE_SECONDS, 1),
        },
        "agent_replies": n(AGENT_REPLIES),
        "missed_calls": n(CALLS_MISSED),
        "sla_breaches": {
            "total": n(SLA_BREACHES),
            **{which: n(metric) for which, metric in SLA_BREACHES_BY_DEADLINE.items()},
        },
        "sla": {
            which: {
                "met": n(SLA_MET[which]),
                "met_in_time": n(SLA_MET_IN_TIME[which]),
                "compliance": ratio(n(SLA_MET_IN_TIME[which]), n(SLA_MET[which])),
                "average_seconds": avg(SLA_MET[which], 1),
            }
            for which in SLA_DEADLINES
        },
        "rejected_messages": n(REJECTED_MESSAGES),
        "replayed_messages": n(REPLAYED_MESSAGES),
        "due_items_parked": n(DUE_ITEMS_PARKED),
    }


def kpis(rows: Iterable[CounterRow], group_by: GroupBy = "day") -> dict[str, Any]:
    """Totals (from the ``all`` dimension) and one group per day / channel / agent / category.

    ``rows`` may repeat keys (they are summed). Groups are sorted by key; days and values with no
    counters do not appear. Ratios are null when their denominator is 0; in a channel / agent /
    category group, figures of metrics not broken down that way (:attr:`Metric.by`) are null.
    """
    if group_by not in GROUP_BYS:
        raise ValueError(f"group_by must be one of {', '.join(GROUP_BYS)}")
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    groups: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0, 0.0]))
    for row in rows:
        key: str | None = None
        if row.dim_kind == ALL:
            acc = totals[row.metric]
            acc[0] += row.count
            acc[1] += row.total
            if group_by == "day" and row.day is not None:
                key = row.day.isoformat()
        elif row.dim_kind == group_by:
            key = row.dim_value
        if key is not None:
            acc = groups[key][row.metric]
            acc[0] += row.count
            acc[1] += row.total
    return {
        "totals": figures({m: (int(c), float(t)) for m, (c, t) in totals.items()}),
        "groups": [
            {
                "key": key,
                **figures(
                    {m: (int(c), float(t)) for m, (c, t) in groups[key].items()},
                    ALL if group_by == "day" else group_by,
                ),
            }
            for key in sorted(groups)
        ],
    }


# -- reporting periods --------------------------------------------------------------------------
PERIODS = ("today", "week", "month")
MAX_RANGE_DAYS = 400


def period_range(
    today: date, period: str | None = None, start: str | None = None, end: str | None = None
) -> tuple[date, date]:
    """The days [from, to] (both included) a KPI query covers, in the venue's calendar.

    ``from``/``to`` (ISO dates) name them (only ``from``: up to today; only ``to``: that day);
    ``period`` runs up to and including ``today``: ``today``, ``week`` (from Monday) or ``month``
    (from the 1st). Neither: today. Raises ValueError.
    """
    if period is not None and (start is not None or end is not None):
        raise ValueError("give either period or from/to, not both")
    if start is not None or end is not None:
        try:
            first = date.fromisoformat(start) if start is not None else None
            last = date.fromisoformat(end) if end is not None else None
        except ValueError:
            raise ValueError("from and to must be dates, YYYY-MM-DD") from None
        if first is None:
            first = last
        if last is None:
            last = max(today, first)  # type: ignore[type-var]
        assert first is not None
        if last < first:
            raise ValueError("to must not be before from")
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise ValueError(f"at most {MAX_RANGE_DAYS} days at a time")
        return first, last
    period = period or "today"
    if period == "today":
        return today, today
    if period == "week":
        return today - timedelta(days=today.weekday()), today
    if period == "month":
        return today.replace(day=1), today
    raise ValueError(f"period must be one of {', '.join(PERIODS)}")
