"""A month published through the real system: inbound payloads of every channel on ``meetdesk.inbound``
and the agents' commands over HTTP, intake, booking and complaints turning them into the events
metrics reads — their schedulers firing deadlines, breaches, escalations, no-shows and completions as
the services' clock is stepped through the month — and every KPI of metrics' ``GET /kpis`` equals the
plain computation of tests/integration/test_metrics_month.py (:class:`Expected`) over the facts the
script recorded (tests/integration/month_script.py), never over the events.

The month is March 2027 (the services' clock moved there and on, step by step); the system runs its
default policies (a normal complaint: the formal reply within 2 hours, resolved within 72 calendar hours;
escalation 0 / 30 / 60 minutes; a no-show released after 20 minutes), and metrics, for the month, the
desk's business hours (so that response times are measured in business time too).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.metrics import domain

from ..conftest import System
from . import test_metrics_month as plain
from .builders import staff_chain
from .month_script import MonthRun, MonthScript

pytestmark = pytest.mark.integration

START, DAYS = date(2027, 3, 1), 28
MONTH = (START, date(2027, 3, 31))
GROUPINGS = ("day", "channel", "agent", "category", "room", "agent,category", "cause", "meeting")
GROUPINGS += ("service_step,category",)
# the desk's calendar for metrics' business time: plain.OPEN's hours, a holiday on Monday 15 March
HOLIDAYS = {date(2027, 3, 15)}
BUSINESS_HOURS = {**plain.BUSINESS_HOURS_SETTING, "holidays": [d.isoformat() for d in HOLIDAYS]}


class Month:
    def __init__(self, run: MonthRun, now: datetime, kpis: dict[str, dict[str, Any]], seconds: float):
        self.run, self.now, self.kpis, self.seconds = run, now, kpis, seconds


async def absorbed(system: System, since: int, timeout: float = 60) -> None:
    """Wait until metrics has logged every event of a type it reads that went out on meetdesk.events
    from the watcher's ``since``-th event on (the month's)."""
    ids = list({uuid.UUID(e.body["event_id"]) for e in system.watcher.events[since:] if e.type in domain.LOGGED_TYPES})
    deadline = time.monotonic() + timeout
    while True:
        sql = "SELECT count(*) AS n FROM event_log WHERE event_id = ANY($1::uuid[])"
        (row,) = await system.query("metrics", sql, ids)
        if row["n"] == len(ids):
            return
        assert time.monotonic() < deadline, f"metrics logged {row['n']} of the month's {len(ids)} events"
        await asyncio.sleep(0.2)


@pytest.fixture(scope="module")
async def month(system: System) -> AsyncIterator[Month]:
    t0 = time.perf_counter()
    agents = [(await staff_chain(system))["agent"] for _ in range(2)]
    script = MonthScript(seed=11, start=START, days=DAYS, agents=agents, chat_agents=[501, 502])
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {system.token}"}, timeout=30) as http:
        for room_id, room in script.rooms.items():
            body = {"command_id": f"room-{room_id}", "actor": "ops", "room_id": room_id, "name": room_id, **room}
            r = await http.post(f"{system.url('booking')}/commands/rooms.upsert", json=body)
            assert r.status_code == 200, r.text
    # metrics measures business time too: it runs with the desk's calendar for the month (and without after)
    metrics = system.services["metrics"]
    before = dict(metrics.extra_env)
    metrics.stop()
    metrics.extra_env = {**before, "MEETDESK_BUSINESS_HOURS": json.dumps(BUSINESS_HOURS)}
    metrics.start()
    await metrics.wait_ready()
    # the month starts from a desk with nothing pending: a deadline or reminder another test left scheduled
    # would fall due when the clocks jump to March 2027, and count in the month
    for service in ("intake", "booking", "complaints"):
        await system.query(service, "DELETE FROM due_items")
    run = MonthRun(system, script)
    since = len(system.watcher.events)
    try:
        await run.play()
        await absorbed(system, since)
        now = system.now()
        kpis: dict[str, dict[str, Any]] = {}
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {system.token}"}, timeout=30) as http:
            for group_by in GROUPINGS:
                params = {"from": MONTH[0].isoformat(), "to": MONTH[1].isoformat(), "group_by": group_by}
                r = await http.get(f"{system.url('metrics')}/kpis", params=params)
                assert r.status_code == 200, r.text
                kpis[group_by] = r.json()
        yield Month(run, now, kpis, time.perf_counter() - t0)
    finally:
        await system.reset_clock()
        metrics.stop()
        metrics.extra_env = before
        metrics.start()
        await metrics.wait_ready()


def expected(
    m: Month, where: dict[str, str | None], monkeypatch: pytest.MonkeyPatch, period: tuple[date, date] = MONTH
) -> dict[str, Any]:
    """The plain computation over the recorded facts, for the period (the month, or a day of it) and
    the time of the query."""
    monkeypatch.setattr(plain, "MONTH", period)
    monkeypatch.setattr(plain, "NOW", m.now)
    monkeypatch.setattr(plain, "HOLIDAYS", HOLIDAYS)
    return plain.Expected(m.run.facts, where).figures()


Group = tuple[str, dict[str, Any], dict[str, str | None], tuple[date, date]]


def groups(m: Month, group_by: str) -> list[Group]:
    """(name, figures, where, period) of each group of a grouping; for ``day`` the month's totals and
    each day's figures (the plain computation over that day)."""
    body = m.kpis[group_by]
    if group_by == "day":
        days = [(f"day {g['key']}", g, {}, (date.fromisoformat(g["key"]),) * 2) for g in body["groups"]]
        return [("totals", body["totals"], {}, MONTH), *days]  # type: ignore[list-item]
    out: list[Group] = []
    for group in body["groups"]:
        keys = group["key"] if isinstance(group["key"], list) else [group["key"]]
        out.append((f"group {group['key']}", group, dict(zip(group_by.split(","), keys, strict=True)), MONTH))
    return out


def compare(m: Month, group_by: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    diffs: list[str] = []
    for name, got, where, period in groups(m, group_by):
        want = expected(m, where, monkeypatch, period)
        diffs += [f"{name}: {d}" for d in plain.differences(got, want)]
    return diffs


def test_the_month_was_played_through_every_channel_and_scheduler(month: Month) -> None:
    f = month.run.facts
    print(f"the month played in {month.seconds:.1f} s ({len(month.run.log)} steps)")
    assert {i.channel for i in f.inquiries} == {"email", "chat", "wechat", "webform", "phone", "onsite"}
    assert [c for c in f.calls if c.answer_seconds is None] and [m for m in f.meetings if m.released_at]
    assert [c for c in f.complaints if c.breaches] and [c for c in f.complaints if c.reopened_at]
    assert [m for m in f.meetings if m.completed_at] and [m for m in f.meetings if m.cancelled_at]
    assert [m for m in f.meetings if m.prep_overdue_at] and f.rejections and f.rescheduled
    # the schedulers did their part as the days passed: a reminder the day before each meeting still booked
    # then, no-shows released, meetings completed, deadlines breached and escalated (waited for as they fell due)
    events = month.run.system.watcher.events
    reminded = {e.data["booking_id"] for e in events if e.type == "booking.reminder_due"}
    due = {m.booking_id for m in f.meetings if m.cancelled_at is None and m.start - timedelta(hours=24) <= month.now}
    keys = {b: k for k, b in month.run.bookings.items()}
    assert reminded == due, f"reminded {sorted(keys[b] for b in reminded)}, due {sorted(keys[b] for b in due)}"
    # intake took a customer's second number as theirs (so the call-back on it is one)
    linked = [e for e in events if e.type == "customer.linked"]
    assert [e for e in linked if "phone" in {i["kind"] for i in e.data["identities"]}]
    # every figure of the month's totals has something to count, but replays and parked items (ops' tools)
    flat = domain.flatten(month.kpis["day"]["totals"])
    assert [k for k, v in flat.items() if v in (None, 0)] == ["replayed_messages", "due_items_parked"]


@pytest.mark.parametrize("group_by", GROUPINGS)
async def test_every_kpi_of_the_month_equals_the_plain_computation(
    month: Month, group_by: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = month.kpis[group_by]
    if group_by != "day":
        assert len(body["groups"]) > 1
    diffs = compare(month, group_by, monkeypatch)
    assert not diffs, f"{len(diffs)} differences:\n" + "\n".join(diffs)


async def test_the_call_back_time_is_measured_from_the_missed_call_to_the_call_back(
    month: Month, monkeypatch: pytest.MonkeyPatch
) -> None:
    want = expected(month, {}, monkeypatch)["phone"]["callback_median_seconds"]
    assert want is not None
    assert month.kpis["day"]["totals"]["phone"]["callback_median_seconds"] == want


@pytest.mark.parametrize("group_by", ("day", "channel", "agent,category"))
async def test_handling_time_runs_from_the_customers_contact_to_the_resolution(
    month: Month, group_by: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert month.run.registered_late, "the month has a complaint registered after the customer's contact"
    diffs = [
        f"{name}: {d}"
        for name, got, where, period in groups(month, group_by)
        for d in plain.differences(got["handling_time"], expected(month, where, monkeypatch, period)["handling_time"])
    ]
    assert not diffs, "\n".join(diffs)
