"""A generated month of desk traffic through metrics' real handler path and a real PostgreSQL: every KPI
equals an independent computation, written plainly below from the facts the traffic was generated
from (not from the events); a rebuild, a compaction, a redelivery of everything and the same events
in reverse order all give byte-identical /kpis.

The events go through :func:`handlers.event_delivered` into the service's batcher
(:class:`shared.batching.Batcher` over real units of work), 200 deliveries in flight at a time like
the consumer's prefetch; /kpis, /kpis.csv and /scorecard are the service's own routes (ASGI) on the
same database, with the service's clock fixed at ``NOW``.
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
import statistics
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.ext.asyncio import AsyncEngine

from services.metrics import domain, handlers
from services.metrics.store import MetricsStore
from shared.batching import Batcher
from shared.clock import FixedClock
from shared.db import make_engine, make_sessionmaker
from shared.runtime import Incoming
from shared.topology import METRICS_EVENTS
from shared.uow import Transactions

from ..servers import Servers
from ..system import fresh_database
from ..unit.metrics_traffic import HK, Facts, Traffic

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 28, 4, 0, tzinfo=UTC)  # 12:00 in Hong Kong on 28 March
# the desk's business hours: weekdays 9-18, Saturday mornings, a holiday on Monday 16 March
OPEN = {0: (time(9), time(18)), 1: (time(9), time(18)), 2: (time(9), time(18)), 3: (time(9), time(18)),
        4: (time(9), time(18)), 5: (time(10), time(14))}  # fmt: skip
HOLIDAYS = {date(2026, 3, 16)}
BUSINESS_HOURS_SETTING = {
    "hours": {"mon": ["09:00", "18:00"], "tue": ["09:00", "18:00"], "wed": ["09:00", "18:00"],
              "thu": ["09:00", "18:00"], "fri": ["09:00", "18:00"], "sat": ["10:00", "14:00"]},
    "holidays": ["2026-03-16"],
}  # fmt: skip
BUSINESS_HOURS = domain.BusinessHours.parse(BUSINESS_HOURS_SETTING, HK)
POLICY = domain.Policy(tz=HK, answer_target_seconds=15, callback_within_seconds=86_400, business_hours=BUSINESS_HOURS)
MONTH = (date(2026, 3, 1), date(2026, 3, 31))
TARGET = 15
CALLBACK = 86_400
TOKEN = "metrics-month-token"
GROUPINGS = ("day", "week", "agent", "channel", "category", "room", "agent,category", "month,agent", "cause",
             "service_step,category", "meeting")  # fmt: skip


# -- the traffic, and the service around the real database -----------------------------------------------
@pytest.fixture(scope="module")
def traffic() -> Traffic:
    return Traffic(seed=2026, start=date(2026, 3, 1), days=28, now=NOW, per_day=24)


async def make_db(servers: Servers, name: str) -> AsyncEngine:
    return make_engine(await fresh_database(servers, name, "metrics"), pool_size=5)


def incoming(env: Any) -> Incoming:
    return Incoming(
        queue=METRICS_EVENTS,
        body=env.to_bytes(),
        routing_key=env.type,
        headers={},
        message_id=str(env.event_id),
        correlation_id=uuid.uuid4(),
        content_type="application/json",
        delivery_count=1,
    )


async def deliver(engine: AsyncEngine, envs: Iterable[Any], in_flight: int = 200) -> None:
    """Each event through the real handler path: the delivery handler, the batcher, the batch handler
    in real units of work — ``in_flight`` deliveries at a time, as the consumer's prefetch allows."""
    transactions = Transactions(
        make_sessionmaker(engine), MetricsStore, producer="metrics", clock=FixedClock(NOW), on_commit=lambda tx: None
    )

    async def apply(uow: Any, items: list[handlers.Absorbed]) -> None:
        await handlers.absorb_batch(uow, items, uow.now, POLICY)

    batcher: Batcher[handlers.Absorbed] = Batcher(transactions.begin, apply)
    consumed = Counter("meetdesk_metrics_events", "x", ["type", "outcome"], registry=CollectorRegistry())
    envs = list(envs)
    try:
        for i in range(0, len(envs), in_flight):
            await asyncio.gather(
                *(
                    handlers.event_delivered(incoming(e), POLICY, batcher.submit, consumed)
                    for e in envs[i : i + in_flight]
                )
            )
    finally:
        await batcher.stop()


@pytest.fixture(scope="module")
async def month(servers: Servers, traffic: Traffic) -> AsyncIterator[AsyncEngine]:
    engine = await make_db(servers, "meetdesk_test_metrics_month")
    await deliver(engine, traffic.events)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def client(month: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Callable[..., Any]]:
    from services.metrics import main

    monkeypatch.setattr(main.svc, "sessions", make_sessionmaker(month))
    monkeypatch.setattr(main.svc, "clock", FixedClock(NOW))
    monkeypatch.setattr(main.svc.settings, "api_token", type(main.svc.settings.api_token)(TOKEN))
    transport = httpx.ASGITransport(app=main.app.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://metrics") as http:

        async def get(path: str, **params: str) -> httpx.Response:
            r = await http.get(path, params=params, headers={"Authorization": f"Bearer {TOKEN}"})
            assert r.status_code == 200, r.text
            return r

        yield get


async def kpis(get: Callable[..., Any], group_by: str, start: date = MONTH[0], end: date = MONTH[1]) -> dict:
    return (await get("/kpis", **{"from": start.isoformat(), "to": end.isoformat(), "group_by": group_by})).json()


# == the independent computation ============================================================================
def day(at: datetime) -> date:
    return at.astimezone(HK).date()


def in_month(at: datetime | None) -> bool:
    return at is not None and MONTH[0] <= day(at) <= MONTH[1]


def business(replied: datetime, seconds: int) -> int:
    """The seconds of a response within the opening hours: each day's opening clipped to the response."""
    start = replied - timedelta(seconds=seconds)
    total = 0.0
    d = day(start) - timedelta(days=1)
    while d <= day(replied):
        if d.weekday() in OPEN and d not in HOLIDAYS:
            opens, closes = (datetime.combine(d, t, HK) for t in OPEN[d.weekday()])
            total += max(0.0, (min(closes, replied) - max(opens, start)).total_seconds())
        d += timedelta(days=1)
    return math.floor(total + 0.5)


def ratio(a: int | None, b: int | None) -> float | None:
    return None if a is None or not b else round(a / b, 4)


def times(values: list[int]) -> dict[str, Any]:
    """count, mean to 0.1 s, median, nearest-rank p90 — as the README defines them."""
    if not values:
        return {"count": 0, "average_seconds": None, "median_seconds": None, "p90_seconds": None}
    ordered = sorted(values)
    return {
        "count": len(values),
        "average_seconds": round(sum(values) / len(values), 1),
        "median_seconds": statistics.median(ordered),
        "p90_seconds": ordered[math.ceil(0.9 * len(ordered)) - 1],
    }


class Expected:
    """The figures of one group (``where``: dimension → value, None = unknown) from the facts alone."""

    def __init__(self, f: Facts, where: dict[str, str | None]):
        self.f, self.where = f, where

    def ok(self, **dims: str | None) -> bool:
        """Whether a fact with these dimensions belongs to the group (a dimension the fact does not
        carry makes the figure unknown in this grouping: see :meth:`known`)."""
        return all(dims.get(k) == v for k, v in self.where.items())

    def known(self, *carried: str) -> bool:
        return all(k in carried for k in self.where)

    def n(self, carried: tuple[str, ...], items: Iterable[Any]) -> int | None:
        return len(list(items)) if self.known(*carried) else None

    # each family of figures, as README.md defines it
    def figures(self) -> dict[str, Any]:
        f = self.f
        complaint = ("channel", "agent", "category", "service_step", "cause")

        def ok(**dims: Any) -> bool:
            c = dims.pop("complaint", None)  # a complaint's facts carry its service step and cause
            if c is not None:
                dims |= {"service_step": c.step, "cause": c.cause}
            return self.ok(**dims)

        inquiries = [
            i for i in f.inquiries if in_month(i.at) and ok(channel=i.channel, agent=i.agent, category=i.category)
        ]
        cohort = [
            c
            for c in f.complaints
            if in_month(c.registered_at)
            and ok(channel=c.channel, agent=c.agent, category=c.category, complaint=c, meeting=c.booking)
        ]
        active = [c for c in cohort if c.withdrawn_at is None]
        resolved_now = [c for c in active if len(c.resolved_at) > len(c.reopened_at)]
        in_time = [c for c in resolved_now if self._in_time(c)]
        ever = [c for c in active if c.resolved_at]
        reopened = [c for c in active if c.reopened_at]
        fcr = [c for c in active if c.first_contact]
        about = [
            c for c in f.complaints
            if in_month(c.registered_at) and c.category == "service_attitude" and c.reg_agent
            and ok(channel=c.channel, agent=c.reg_agent, category=c.category, complaint=c)
        ]  # fmt: skip
        replies = [r for r in f.replies if in_month(r.at) and ok(channel=r.channel, agent=r.agent)]
        first = [r.seconds for r in replies if r.first and r.seconds is not None]
        later = [r.seconds for r in replies if not r.first and r.seconds is not None]
        first_business = [business(r.at, r.seconds) for r in replies if r.first and r.seconds is not None]
        later_business = [business(r.at, r.seconds) for r in replies if not r.first and r.seconds is not None]
        phone = [r.seconds for r in replies if r.channel == "phone" and r.seconds is not None]
        missed = [c for c in f.calls if c.answer_seconds is None and in_month(c.at) and ok(channel="phone")]
        callbacks = [s for s in (self._callback(c) for c in missed) if s is not None]
        scores = [
            x.score
            for x in f.feedback
            if in_month(x.at) and ok(channel=x.channel, agent=x.agent, room=x.room, meeting=x.meeting)
        ]
        held = [
            m for m in f.meetings
            if in_month(m.start) and ok(room=m.room, meeting=m.booking_id)
            and (m.completed_at is not None or (m.cancelled_at is None and m.released_at is None and m.end <= NOW))
        ]  # fmt: skip
        requests = [r for r in f.requests if in_month(r.at) and ok(channel=r.channel, room=r.confirmed_room or r.room)]
        n = self.n
        registered, held_n = n((*complaint, "meeting"), cohort), n(("room", "meeting"), held)
        answered, missed_n = n(("channel", "agent"), phone), n(("channel",), missed)
        within = n(("channel", "agent"), [s for s in phone if s <= TARGET])
        reply_n, about_n = n(("channel", "agent"), replies), n(complaint, about)
        active_n, ever_n = n(complaint, active), n(complaint, ever)
        booking_asked = [m for m in f.meetings if in_month(m.completed_at) and ok(room=m.room, meeting=m.booking_id)]
        complaint_asked = [
            c for c in f.complaints
            if in_month(c.survey_asked_at) and ok(channel=c.channel, agent=c.agent, category=c.category, complaint=c)
        ]  # fmt: skip
        escalations = [
            level for c in f.complaints for at, level in c.escalations
            if in_month(at) and ok(channel=c.channel, agent=c.agent, category=c.category, complaint=c)
        ]  # fmt: skip
        inquiry = ("channel", "agent", "category")
        return {
            "inquiries": n(inquiry, inquiries),
            "bookings": {
                "requested": n(("channel", "room"), requests),
                "confirmed": n(
                    ("channel", "room"),
                    [
                        r
                        for r in f.requests
                        if in_month(r.confirmed_at) and ok(channel=r.channel, room=r.confirmed_room)
                    ],
                ),
                "rejected": n(("category",), [x for x in f.rejections if in_month(x[0]) and ok(category=x[1])]),
                "cancelled": n(("room",), [x for x in f.cancelled if in_month(x[0]) and ok(room=x[1])]),
                "rescheduled": n(("room",), [x for x in f.rescheduled if in_month(x[0]) and ok(room=x[1])]),
                "confirmed_occurrences": n(
                    ("room",), [m for m in f.meetings if in_month(m.confirmed_at) and ok(room=m.room)]
                ),
                "confirmation_rate": ratio(
                    n(("channel", "room"), [r for r in requests if r.confirmed_at]), n(("channel", "room"), requests)
                ),
                "requests_confirmed": n(("channel", "room"), [r for r in requests if r.confirmed_at]),
                "no_shows": n(("room",), [m for m in f.meetings if in_month(m.released_at) and ok(room=m.room)]),
                "preparation_overdue": n(
                    ("room", "category"),
                    [m for m in f.meetings if in_month(m.prep_overdue_at) and ok(room=m.room, category="equipment")],
                ),
                "meetings_held": held_n,
            },
            "complaints": {
                "received": n(inquiry, [i for i in inquiries if i.intent == "complaint"]),
                "registered": registered,
                "resolved": n(
                    complaint,
                    [
                        c
                        for c in f.complaints
                        if c.resolved_at
                        and in_month(c.resolved_at[0])
                        and ok(channel=c.channel, agent=c.agent, category=c.category, complaint=c)
                    ],
                ),
                "closed": n(
                    complaint,
                    [
                        c
                        for c in f.complaints
                        if in_month(c.closed_at)
                        and ok(channel=c.channel, agent=c.agent, category=c.category, complaint=c)
                    ],
                ),
                "escalated": n(complaint, escalations),
                "escalations_by_level": {
                    str(level): n(complaint, [x for x in escalations if x == level]) for level in (1, 2, 3)
                },
                "withdrawn": n(complaint, [c for c in cohort if c.withdrawn_at]),
                "cohort": {
                    "registered": active_n,
                    "resolved": n(complaint, resolved_now),
                    "resolved_in_time": n(complaint, in_time),
                    "ever_resolved": ever_n,
                    "reopened": n(complaint, reopened),
                    "first_contact": n(complaint, fcr),
                    "resolution_rate": ratio(n(complaint, resolved_now), active_n),
                    "resolved_in_time_rate": ratio(n(complaint, in_time), active_n),
                    "reopen_rate": ratio(n(complaint, reopened), ever_n),
                    "first_contact_rate": ratio(n(complaint, fcr), active_n),
                },
                "per_meeting_held": ratio(registered, held_n),
                "about_agent": about_n,
                "about_agent_per_reply": ratio(about_n, reply_n),
            },
            "complaint_rate": ratio(registered, n(inquiry, inquiries)),
            "resolution_rate": ratio(n(complaint, resolved_now), active_n),
            "handling_time": self._times(
                complaint, [int((c.resolved_at[0] - c.registered_at).total_seconds()) for c in ever]
            ),
            "satisfaction": self._satisfaction(scores),
            "surveys": {
                "booking": self._survey(("room", "meeting"), booking_asked, [m for m in booking_asked if m.survey_at]),
                "complaint": self._survey(
                    complaint, complaint_asked, [c for c in complaint_asked if c.survey_answered_at]
                ),
            },
            "first_response": self._times(("channel", "agent"), first, "replies"),
            "next_response": self._times(("channel", "agent"), later, "replies"),
            "first_response_business": self._times(("channel", "agent"), first_business, "replies"),
            "next_response_business": self._times(("channel", "agent"), later_business, "replies"),
            "agent_replies": reply_n,
            "missed_calls": missed_n,
            "phone": {
                "answered": answered,
                "missed": missed_n,
                "calls": None if answered is None or missed_n is None else answered + missed_n,
                "missed_call_rate": ratio(
                    missed_n, None if answered is None or missed_n is None else answered + missed_n
                ),
                "target_seconds": TARGET,
                "answered_within_target": within,
                "answered_within_target_rate": ratio(within, answered),
                "callbacks": n(("channel",), callbacks),
                "callback_rate": ratio(n(("channel",), callbacks), missed_n),
                "callback_median_seconds": statistics.median(callbacks)
                if callbacks and self.known("channel")
                else None,
            },
            "sla_breaches": {
                "total": n((), [b for c in f.complaints for b in c.breaches if in_month(b[0])]),
                "acknowledge": n(
                    (), [b for c in f.complaints for b in c.breaches if in_month(b[0]) and b[1] == "acknowledge"]
                ),
                "resolve": n((), [b for c in f.complaints for b in c.breaches if in_month(b[0]) and b[1] == "resolve"]),
            },
            "sla": {which: self._sla(which) for which in ("acknowledge", "resolve")},
            "rejected_messages": n(("channel",), [x for x in f.rejected if in_month(x[0]) and ok(channel=x[1])]),
            "notifications_failed": n(("channel",), [x for x in f.bounced if in_month(x[0]) and ok(channel=x[1])]),
            "replayed_messages": n((), [x for x in f.replayed if in_month(x)]),
            "due_items_parked": n((), [x for x in f.parked if in_month(x)]),
        }

    @staticmethod
    def _in_time(c: Any) -> bool:
        cycles = [x for x in c.cycles if x.which == "resolve"]
        met = [x for x in cycles if x.met_at]
        return bool(met) and all(x.breached_at is None and (x.elapsed is None or x.elapsed <= 259_200) for x in cycles)

    def _callback(self, call: Any) -> int | None:
        """Seconds until the next answered phone call from the same customer, if within the window."""
        if call.customer is None:
            return None
        same = self.f.same_customer().get(call.customer, {call.customer})  # its records linked now
        later = sorted(i.at for i in self.f.inquiries if i.channel == "phone" and i.customer in same and i.at > call.at)
        if not later or (later[0] - call.at).total_seconds() > CALLBACK:
            return None
        return int((later[0] - call.at).total_seconds())

    def _times(self, carried: tuple[str, ...], values: list[int], count_key: str = "count") -> dict[str, Any]:
        if not self.known(*carried):
            return {count_key: None, "average_seconds": None, "median_seconds": None, "p90_seconds": None}
        out = times(values)
        out[count_key] = out.pop("count")
        return {count_key: out[count_key], **{k: v for k, v in out.items() if k != count_key}}

    def _satisfaction(self, scores: list[int]) -> dict[str, Any]:
        if not self.known("channel", "agent", "room", "meeting"):
            return dict.fromkeys(("responses", "average", "grade", "grade_zh", "mean_score", "share_4_5"))
        if not scores:
            return {"responses": 0, "average": None, "grade": None, "grade_zh": None, "mean_score": None,
                    "share_4_5": None}  # fmt: skip
        average = round(sum(scores) * 20 / len(scores), 2)
        grade = next(g for bound, g in ((90, "excellent"), (80, "good"), (60, "pass"), (0, "fail")) if average >= bound)
        zh = {"excellent": "優秀", "good": "良好", "pass": "合格", "fail": "不合格"}[grade]
        return {
            "responses": len(scores),
            "average": average,
            "grade": grade,
            "grade_zh": zh,
            "mean_score": round(sum(scores) / len(scores), 2),
            "share_4_5": round(sum(1 for s in scores if s >= 4) / len(scores), 4),
        }

    def _survey(self, carried: tuple[str, ...], asked: list[Any], answered: list[Any]) -> dict[str, Any]:
        a, b = self.n(carried, asked), self.n(carried, answered)
        return {"requested": a, "answered": b, "response_rate": ratio(b, a)}

    def _sla(self, which: str) -> dict[str, Any]:
        met, in_time, late = [], 0, 0
        for c in self.f.complaints:
            for x in c.cycles:
                if x.which != which:
                    continue
                dims = {"channel": c.channel, "category": c.category, "service_step": c.step, "cause": c.cause}
                if x.met_at and in_month(x.met_at) and self.ok(**dims, agent=x.met_agent or c.agent):
                    met.append(x.elapsed)
                decided = min(t for t in (x.met_at, x.breached_at) if t)
                who = x.breach_agent if x.breached_at and decided == x.breached_at else x.met_agent
                target = 7200 if which == "acknowledge" else 259_200
                if in_month(decided) and self.ok(**dims, agent=who or c.agent):
                    if x.breached_at or x.elapsed > target:
                        late += 1
                    else:
                        in_time += 1
        if not self.known("channel", "agent", "category", "service_step", "cause"):
            return dict.fromkeys(
                ("met", "met_in_time", "late", "compliance", "average_seconds", "median_seconds", "p90_seconds")
            )
        t = times(met)
        return {
            "met": len(met),
            "met_in_time": in_time,
            "late": late,
            "compliance": ratio(in_time, in_time + late),
            "average_seconds": t["average_seconds"],
            "median_seconds": t["median_seconds"],
            "p90_seconds": t["p90_seconds"],
        }


def differences(got: Any, want: Any, path: str = "") -> list[str]:
    if isinstance(want, dict):
        return [d for k in want for d in differences(got.get(k, "<missing>"), want[k], f"{path}.{k}")]
    return [] if got == want else [f"{path}: got {got!r}, expected {want!r}"]


# == the tests =============================================================================================
async def test_every_kpi_of_the_month_equals_the_plain_computation(traffic: Traffic, client: Callable[..., Any]):
    body = await kpis(client, "day")
    diffs = differences(body["totals"], Expected(traffic.facts, {}).figures())
    assert not diffs, "\n".join(diffs)
    # the traffic exercised every figure: none of the month's totals is empty
    flat = domain.flatten(body["totals"])
    assert [k for k, v in flat.items() if v in (None, 0) and not k.endswith("3")] == [], flat
    assert sum(g["inquiries"] for g in body["groups"]) == body["totals"]["inquiries"]


@pytest.mark.parametrize(
    "dims",
    [("agent",), ("channel",), ("category",), ("room",), ("agent", "category"), ("cause",), ("service_step", "agent"),
     ("meeting",)],
)  # fmt: skip
async def test_every_kpi_per_group_equals_the_plain_computation(
    traffic: Traffic, client: Callable[..., Any], dims: tuple[str, ...]
):
    body = await kpis(client, ",".join(dims))
    assert len(body["groups"]) > 1
    for group in body["groups"]:
        keys = group["key"] if isinstance(group["key"], list) else [group["key"]]
        want = Expected(traffic.facts, dict(zip(dims, keys, strict=True))).figures()
        diffs = differences(group, want)
        assert not diffs, f"group {group['key']}:\n" + "\n".join(diffs)
    # every agent (or channel, …) that appears in the facts has its group
    if dims == ("agent",):
        agents = {r.agent for r in traffic.facts.replies if r.agent} | {
            c.agent for c in traffic.facts.complaints if c.agent
        }
        assert agents <= {g["key"] for g in body["groups"]}


async def test_weeks_and_months_are_the_sums_of_their_days(client: Callable[..., Any]):
    days = {g["key"]: g for g in (await kpis(client, "day"))["groups"]}
    weeks = (await kpis(client, "week"))["groups"]
    for week in weeks:
        members = [g for k, g in days.items() if date.fromisoformat(k).strftime("%G-W%V") == week["key"]]
        assert week["inquiries"] == sum(g["inquiries"] for g in members)
        assert week["first_response"]["replies"] == sum(g["first_response"]["replies"] for g in members)
    [march] = (await kpis(client, "month"))["groups"]
    assert march["key"] == "2026-03"
    assert march == {"key": "2026-03", **(await kpis(client, "day"))["totals"]}
    quarter = await kpis(client, "quarter", date(2026, 1, 1), date(2026, 3, 31))
    assert [g["key"] for g in quarter["groups"]] == ["2026-Q1"]


async def test_the_scorecard_has_one_row_per_agent_with_every_kpi_and_the_grade(
    traffic: Traffic, client: Callable[..., Any]
):
    card = (await client("/scorecard", period="month", **{"from": "2026-03-15"})).json()
    assert (card["from"], card["to"]) == ("2026-03-01", "2026-03-31")
    by_agent = {g["key"]: g for g in (await kpis(client, "agent"))["groups"] if g["key"]}
    assert [row["agent"] for row in card["agents"]] == sorted(by_agent)
    for row in card["agents"]:
        assert row == domain.scorecard_row(row["agent"], by_agent[row["agent"]])
        want = Expected(traffic.facts, {"agent": row["agent"]}).figures()
        assert row["grade"] == want["satisfaction"]["grade"]
        assert row["resolution_rate"] == want["complaints"]["cohort"]["resolution_rate"]
        assert row["first_response_p90_seconds"] == want["first_response"]["p90_seconds"]
    quarter = (await client("/scorecard", period="quarter", **{"from": "2026-03-15"})).json()
    assert (quarter["from"], quarter["to"]) == ("2026-01-01", "2026-03-31")
    assert quarter["agents"] == card["agents"]  # the quarter's other months are empty


async def test_the_csv_has_the_same_figures(client: Callable[..., Any]):
    body = await kpis(client, "agent,category")
    text = (await client("/kpis.csv", **{"from": "2026-03-01", "to": "2026-03-31", "group_by": "agent,category"})).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1 + len(body["groups"])
    assert rows[0]["scope"] == "total" and rows[0]["inquiries"] == str(body["totals"]["inquiries"])
    for row, group in zip(rows[1:], body["groups"], strict=True):
        assert [row["agent"] or None, row["category"] or None] == group["key"]
        flat = domain.flatten({k: v for k, v in group.items() if k != "key"})
        assert {k: row[k] for k in flat} == {k: "" if v is None else str(v) for k, v in flat.items()}


async def snapshot(get: Callable[..., Any]) -> dict[str, bytes]:
    out = {}
    for group_by in GROUPINGS:
        r = await get("/kpis", **{"from": "2026-02-01", "to": "2026-04-30", "group_by": group_by})
        out[group_by] = r.content
    out["scorecard"] = (await get("/scorecard", period="quarter", **{"from": "2026-03-01"})).content
    return out


async def rebuild(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn, conn.begin():
        from shared.uow import Transaction

        return await handlers.rebuild(Transaction(conn, MetricsStore(conn), "metrics", NOW), POLICY)


async def compact(engine: AsyncEngine, before: date) -> dict[str, Any]:
    async with engine.connect() as conn, conn.begin():
        from shared.uow import Transaction

        return await handlers.compact(Transaction(conn, MetricsStore(conn), "metrics", NOW), POLICY, before)


async def tables(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            t: (await conn.execute(sa.text(f"SELECT count(*) FROM {t}"))).scalar_one()
            for t in ("event_log", "entity_states", "kpi_daily", "compacted_entity_states", "compacted_kpi_daily")
        }


async def test_rebuild_redelivery_and_compaction_change_no_byte_of_the_figures(
    traffic: Traffic, month: AsyncEngine, client: Callable[..., Any]
):
    before = await snapshot(client)
    logged = (await tables(month))["event_log"]
    assert logged == sum(1 for e in traffic.events if e.type in domain.LOGGED_TYPES)

    done = await rebuild(month)
    assert done["events"] == logged
    assert await snapshot(client) == before

    await deliver(month, traffic.events)  # everything delivered again
    assert (await tables(month))["event_log"] == logged
    assert await snapshot(client) == before

    compacted = await compact(month, date(2026, 3, 15))
    assert compacted["events"] > 0
    left = await tables(month)
    assert left["event_log"] == logged - compacted["events"] and left["compacted_entity_states"] > 0
    assert await snapshot(client) == before  # compaction changes no figure
    await rebuild(month)
    assert await snapshot(client) == before  # nor does a rebuild from what compaction kept and the rest
    again = await compact(month, date(2026, 3, 29))  # the rest, in a second step
    assert again["events"] == left["event_log"]
    await rebuild(month)
    assert await snapshot(client) == before
    assert (await compact(month, date(2026, 3, 29)))["events"] == 0


async def test_the_same_events_in_reverse_order_and_twice_give_the_same_bytes(
    servers: Servers, traffic: Traffic, month: AsyncEngine, client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
):
    from services.metrics import main

    expected = await snapshot(client)
    reverse = await make_db(servers, "meetdesk_test_metrics_month_reverse")
    try:
        envs = traffic.events[::-1]
        await deliver(reverse, envs[::2] + envs, in_flight=150)  # half of them twice, the replies before the questions
        monkeypatch.setattr(main.svc, "sessions", make_sessionmaker(reverse))
        assert await snapshot(client) == expected
    finally:
        await reverse.dispose()
