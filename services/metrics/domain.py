"""KPI rules, in plain Python (no broker, no database).

Every event becomes a handful of counter increments (:class:`Fact`): on a day in the venue's time
zone, a metric, one dimension (``all`` or a channel, agent, category, intent or room) with its value,
a count and a total (for averages). The store adds them up; :func:`kpis` turns the summed counters
into the figures supervisors read (DOMAIN.md, KPIs): satisfaction with its grade, complaint rate,
resolution rate, average first response, bookings, missed calls, SLA breaches.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
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
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintRegistered,
    ComplaintSlaBreached,
    ComplaintStatusChanged,
    Envelope,
    EventData,
    FeedbackReceived,
    InquiryReceived,
    IntakeRejected,
    MessageRejected,
)

DIM_KINDS = ("all", "channel", "agent", "category", "intent", "room")
GROUP_BYS = ("day", "channel", "agent", "category")
GroupBy = Literal["day", "channel", "agent", "category"]
ALL = "all"
MAX_DIM_VALUE = 200  # agent and room ids are free text from other systems

# The seeds' satisfaction grades on the 100-point scale (lower bound, grade), best first.
GRADES = ((90.0, "excellent"), (80.0, "good"), (60.0, "pass"), (0.0, "fail"))
# A complaint that is reopened and resolved again counts once towards the resolution rate.
RESOLVED = "resolved"
CHANNELS = frozenset(get_args(Channel))


@dataclass(frozen=True)
class Fact:
    """One counter increment. ``once``: count it only the first time this key is seen (the handler
    claims the key in the inbox); used where one business fact arrives as several events."""

    day: date
    metric: str
    dim_kind: str
    dim_value: str
    count: int = 1
    total: float = 0.0
    once: str | None = None


class CounterRow(Protocol):
    """What :func:`kpis` reads: a :class:`Fact`, a ``kpi_counters`` row or a summed query row."""

    day: date | None
    metric: str
    dim_kind: str
    dim_value: str
    count: int
    total: float


class InvalidEvent(ValueError):
    """A known event type whose ``data`` does not match the contract."""


# -- events → facts -----------------------------------------------------------------------------
def local_day(ts: datetime, tz: ZoneInfo) -> date:
    return ts.astimezone(tz).date()


def _dims(*pairs: tuple[str, str | None]) -> list[tuple[str, str]]:
    """``all`` plus every dimension whose value is known."""
    out = [(ALL, ALL)]
    for kind, value in pairs:
        if value:
            out.append((kind, value[:MAX_DIM_VALUE]))
    return out


def _facts(
    day: date,
    metric: str,
    dims: list[tuple[str, str]],
    *,
    total: float = 0.0,
    once: str | None = None,
) -> list[Fact]:
    return [Fact(day, metric, kind, value, 1, total, once) for kind, value in dims]


def _parse(model: type[EventData], env: Envelope) -> Any:
    try:
        return model.model_validate(env.data)
    except ValidationError as exc:
        # where and what, never the offending values (they may be a customer's phone or email)
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(data)'}: {e['msg']}" for e in exc.errors()[:5])
        raise InvalidEvent(f"{env.type} data invalid: {problems}") from None


def _inquiry(env: Envelope, tz: ZoneInfo) -> list[Fact]:
    d: InquiryReceived = _parse(InquiryReceived, env)
    day = local_day(d.received_at, tz)
    out = _facts(day, "inquiries", _dims(("channel", d.channel), ("intent", d.intent), ("agent", d.agent_id)))
    if d.intent == "complaint":
        out += _facts(day, "complaints_received", _dims(("channel", d.channel), ("category", d.category)))
    return out


def _booking_requested(env: Envelope, tz: ZoneInfo) -> list[Fact]:
    d: BookingRequested = _parse(BookingRequested, env)
    return _facts(local_day(env.occurred_at, tz), "bookings_requested", _dims(("channel", d.channel)))


def _booking_confirmed(env: Envelope, tz: ZoneInfo) -> list[Fact]:
    d: BookingConfirmed = _parse(BookingConfirmed, env)
    day = local_day(env.occurred_at, tz)
    # A recurring request is confirmed once per occurrence: the room usage counts every one, the
    # confirmation rate counts the request once.
    out = _facts(day, "bookings_confirmed_occurrences", _dims(("room", d.room_id)))
    once = f"booking-series:{d.series_id}" if d.series_id else None
    out += _facts(day, "bookings_confirmed", _dims(("room", d.room_id)), once=once)
    return out


def _booking_rejected(env: Envelope, tz: ZoneInfo) -> list[Fact]:
    d: BookingRejected = _parse(BookingRejected, env)
    return _facts(local_day(env.occurred_at, tz), "bookings_rejected", _dims(("category", d.reason_code)))


def _booking_cancelled(env: Envelope, tz: ZoneInfo) -> list[Fact]:
    d: BookingCancelled = _parse(BookingCancelled, env)
    return _facts(local_day(env.occurred_at, tz), "bookings_cancelled", _dims(("room", d.room_id)))


def _booking_rescheduled(env: Envelope, tz: ZoneInfo) -> list[Fact]:
    d: BookingRescheduled = _parse(BookingRescheduled, env)
    return _facts(local_day(env.occurred_at, tz), "bookings_rescheduled", _dims(("room", d.room_id)))


def _call_missed(env: Envelope, tz: ZoneInfo) -> list[Fact]:
    d: CallMissed = _parse(CallMissed, env)
    return _facts(local_day(d.started_at, tz), "calls_missed", _dims(("channel", "phone")))


def _agent_replied(env: Envelope, tz: ZoneInfo) -> list[Fact]:
    d: AgentReplied = _parse(AgentReplied, env)
    day = local_day(d.replied_at, tz)
    dims = _dims(("channel", d.channel), ("agent", d.agent_id))
    out = _facts(day, "agent_replies", dims)
    if d.first_reply and d.response_seconds is not None and math.isfinite(d.response_seconds):
        out += _facts(day, "first_response_seconds", dims, total=max(0.0, float(d.response_seconds)))
    return out


def _complaint_registered(env: Envelope, tz: ZoneInfo) -> list[Fact]:
    d: ComplaintRegistered = _parse(ComplaintRegistered, env)
    dims = _dims(("category", d.category), ("channel", d.channel))
    return _facts(local_day(d.registered_at, tz), "complaints_registered", dims)


def _complaint_status_changed(env: Envelope, tz: ZoneInfo) -> list[Fact]:
    d: ComplaintStatusChanged = _parse(ComplaintStatusChanged, env)
    if d.to != RESOLVED:
        return []
    dims = _dims(("category", d.category), ("agent", d.agent_id or d.actor))
    return _facts(local_day(env.occurred_at, tz), "complaints_resolved", dims, once=f"resolved:{d.complaint_id}")


def _complaint_closed(env: Envelope, tz: ZoneInfo) -> list[Fact]:
    d: ComplaintClosed = _parse(ComplaintClosed, env)
    dims = _dims(("category", d.category))
    return _facts(local_day(env.occurred_at, tz), "complaints_closed", dims, once=f"closed:{d.complaint_id}")


def _sla_breached(env: Envelope, tz: ZoneInfo) -> list[Fact]:
    d: ComplaintSlaBreached = _parse(ComplaintSlaBreached, env)
    day = local_day(env.occurred_at, tz)
    return _facts(day, "sla_breaches", _dims()) + _facts(day, f"sla_breaches_{d.which}", _dims())


def _escalated(env: Envelope, tz: ZoneInfo) -> list[Fact]:
    _parse(ComplaintEscalated, env)
    return _facts(local_day(env.occurred_at, tz), "complaints_escalated", _dims())


def _feedback(env: Envelope, tz: ZoneInfo) -> list[Fact]:
    d: FeedbackReceived = _parse(FeedbackReceived, env)
    dims = _dims(("channel", d.channel), ("agent", d.agent_id))
    return _facts(local_day(env.occurred_at, tz), "satisfaction", dims, total=float(d.score_100))


def _rejected(model: type[EventData]) -> Callable[[Envelope, ZoneInfo], list[Fact]]:
    def facts_of(env: Envelope, tz: ZoneInfo) -> list[Fact]:
        d = _parse(model, env)
        channel = d.channel if isinstance(d, IntakeRejected) and d.channel in CHANNELS else None
        return _facts(local_day(env.occurred_at, tz), "rejected_messages", _dims(("channel", channel)))

    return facts_of


RULES: dict[str, Callable[[Envelope, ZoneInfo], list[Fact]]] = {
    InquiryReceived.event_type: _inquiry,
    BookingRequested.event_type: _booking_requested,
    BookingConfirmed.event_type: _booking_confirmed,
    BookingRejected.event_type: _booking_rejected,
    BookingCancelled.event_type: _booking_cancelled,
    BookingRescheduled.event_type: _booking_rescheduled,
    CallMissed.event_type: _call_missed,
    AgentReplied.event_type: _agent_replied,
    ComplaintRegistered.event_type: _complaint_registered,
    ComplaintStatusChanged.event_type: _complaint_status_changed,
    ComplaintClosed.event_type: _complaint_closed,
    ComplaintSlaBreached.event_type: _sla_breached,
    ComplaintEscalated.event_type: _escalated,
    FeedbackReceived.event_type: _feedback,
    IntakeRejected.event_type: _rejected(IntakeRejected),
    MessageRejected.event_type: _rejected(MessageRejected),
    CommandRejected.event_type: _rejected(CommandRejected),
}


def facts(envelope: Envelope, tz: ZoneInfo) -> list[Fact]:
    """The counter increments one event stands for; [] for types that feed no KPI.

    Raises :class:`InvalidEvent` when a known type's data breaks the contract.
    """
    rule = RULES.get(envelope.type)
    return rule(envelope, tz) if rule else []


# -- summed counters → KPI figures ----------------------------------------------------------------
# The dimensions each metric is broken down by besides ``all`` (what the rules above emit). In a
# group of another dimension the metric is unknown, not zero: null, and so is any ratio built on it.
BREAKDOWNS: dict[str, frozenset[str]] = {
    metric: frozenset(dims)
    for metric, dims in {
        "inquiries": ("channel", "intent", "agent"),
        "complaints_received": ("channel", "category"),
        "bookings_requested": ("channel",),
        "bookings_confirmed": ("room",),
        "bookings_confirmed_occurrences": ("room",),
        "bookings_rejected": ("category",),
        "bookings_cancelled": ("room",),
        "bookings_rescheduled": ("room",),
        "calls_missed": ("channel",),
        "agent_replies": ("channel", "agent"),
        "first_response_seconds": ("channel", "agent"),
        "complaints_registered": ("category", "channel"),
        "complaints_resolved": ("category", "agent"),
        "complaints_closed": ("category",),
        "complaints_escalated": (),
        "sla_breaches": (),
        "sla_breaches_acknowledge": (),
        "sla_breaches_resolve": (),
        "satisfaction": ("channel", "agent"),
        "rejected_messages": ("channel",),
    }.items()
}


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

    A metric not broken down by ``dim_kind`` is null there (not 0), and so is any ratio using it.
    """

    def n(metric: str) -> int | None:
        if dim_kind != ALL and dim_kind not in BREAKDOWNS.get(metric, ()):
            return None
        return int(counters.get(metric, (0, 0.0))[0])

    def avg(metric: str, digits: int) -> float | None:
        count, total = counters.get(metric, (0, 0.0))
        return round(total / count, digits) if count and n(metric) is not None else None

    satisfaction = avg("satisfaction", 2)
    inquiries, registered = n("inquiries"), n("complaints_registered")
    return {
        "inquiries": inquiries,
        "bookings": {
            "requested": n("bookings_requested"),
            "confirmed": n("bookings_confirmed"),
            "rejected": n("bookings_rejected"),
            "cancelled": n("bookings_cancelled"),
            "rescheduled": n("bookings_rescheduled"),
            "confirmed_occurrences": n("bookings_confirmed_occurrences"),
            "confirmation_rate": ratio(n("bookings_confirmed"), n("bookings_requested")),
        },
        "complaints": {
            "received": n("complaints_received"),
            "registered": registered,
            "resolved": n("complaints_resolved"),
            "closed": n("complaints_closed"),
            "escalated": n("complaints_escalated"),
        },
        "complaint_rate": ratio(registered, inquiries),
        "resolution_rate": ratio(n("complaints_resolved"), registered),
        "satisfaction": {
            "responses": n("satisfaction"),
            "average": satisfaction,
            "grade": grade(satisfaction),
        },
        "first_response": {
            "replies": n("first_response_seconds"),
            "average_seconds": avg("first_response_seconds", 1),
        },
        "agent_replies": n("agent_replies"),
        "missed_calls": n("calls_missed"),
        "sla_breaches": {
            "total": n("sla_breaches"),
            "acknowledge": n("sla_breaches_acknowledge"),
            "resolve": n("sla_breaches_resolve"),
        },
        "rejected_messages": n("rejected_messages"),
    }


def kpis(rows: Iterable[CounterRow], group_by: GroupBy = "day") -> dict[str, Any]:
    """Totals (from the ``all`` dimension) and one group per day / channel / agent / category.

    ``rows`` may repeat keys (they are summed). Groups are sorted by key; days and values with no
    counters do not appear. Ratios are null when their denominator is 0; in a channel / agent /
    category group, figures of metrics not broken down that way (:data:`BREAKDOWNS`) are null.
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
