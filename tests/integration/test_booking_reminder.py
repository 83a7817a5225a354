"""The day-before reminder on the running system: a meeting that starts a day and a few seconds from
now is confirmed, and its reminder (due a day before the meeting) goes out within seconds, once,
across booking's three worker processes; a booking cancelled before then is never reminded of."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from ..conftest import System
from .builders import booking_form, round_the_clock_room

pytestmark = pytest.mark.integration

REMINDER_LEAD = timedelta(hours=24)  # booking's default (MEETDESK_REMINDER_HOURS_BEFORE)


async def _book(system: System, room: str, start: datetime) -> dict:
    """Book [start, start + 1 h) in ``room`` through a web form; the booking.confirmed event."""
    form = booking_form(room_id=room, start=start, end=start + timedelta(hours=1), equipment=["projector"])
    sid = form["submission_id"]
    await system.publisher.publish("meetdesk.inbound", "webform", form, message_id=sid)
    w = system.watcher
    (inquiry,) = await w.wait_for(lambda e: e.type == "inquiry.received" and e.data["source_ref"] == sid)
    iid = inquiry.data["inquiry_id"]
    (outcome,) = await w.wait_for(
        lambda e: e.type in {"booking.confirmed", "booking.rejected"} and e.data["inquiry_id"] == iid
    )
    assert outcome.type == "booking.confirmed", outcome.data
    return outcome.body


def _soon(seconds: float) -> datetime:
    """A meeting start whose reminder falls due ``seconds`` from now (whole seconds, UTC)."""
    return (datetime.now(UTC) + REMINDER_LEAD + timedelta(seconds=seconds)).replace(microsecond=0)


def _reminders(system: System, booking_id: str) -> list:
    return system.watcher.matching(lambda e: e.type == "booking.reminder_due" and e.data["booking_id"] == booking_id)


async def _due_items(system: System, booking_id: str) -> int:
    rows = await system.query(
        "booking", "SELECT count(*) AS n FROM due_items WHERE kind = 'booking.reminder' AND key = $1", booking_id
    )
    return rows[0]["n"]


async def test_the_reminder_goes_out_a_day_before_the_meeting_and_only_once(system: System) -> None:
    room = await round_the_clock_room(system)
    start = _soon(6)
    confirmed = await _book(system, room, start)
    booking_id = confirmed["data"]["booking_id"]
    assert _reminders(system, booking_id) == [], "not before its time"
    assert await _due_items(system, booking_id) == 1

    (reminder,) = await system.watcher.wait_for(
        lambda e: e.type == "booking.reminder_due" and e.data["booking_id"] == booking_id, timeout=15
    )
    due_at = start - REMINDER_LEAD
    assert datetime.now(UTC) >= due_at - timedelta(seconds=0.5), "a reminder never goes out early"
    assert reminder.data["customer_id"] == confirmed["data"]["customer_id"]
    assert reminder.data["room_id"] == room
    assert datetime.fromisoformat(reminder.data["start"]) == start
    assert datetime.fromisoformat(reminder.data["end"]) == start + timedelta(hours=1)
    assert reminder.body["correlation_id"] == confirmed["correlation_id"], "the booking's correlation id"
    assert reminder.message_id == reminder.body["event_id"] and reminder.persistent

    # three booking processes each run a scheduler: still exactly one reminder
    await asyncio.sleep(3)
    assert len(_reminders(system, booking_id)) == 1
    assert await _due_items(system, booking_id) == 0, "a fired item is gone"


async def test_a_booking_cancelled_before_its_reminder_is_never_reminded_of(system: System) -> None:
    room = await round_the_clock_room(system)
    start = _soon(8)
    confirmed = await _book(system, room, start)
    booking_id = confirmed["data"]["booking_id"]
    await system.publisher.command("booking.cancel", booking_id=booking_id, reason="plans changed")
    await system.watcher.wait_for(lambda e: e.type == "booking.cancelled" and e.data["booking_id"] == booking_id)
    assert datetime.now(UTC) < start - REMINDER_LEAD, "cancelled before the reminder was due"
    assert await _due_items(system, booking_id) == 0, "the cancellation took the reminder with it"

    # past its due time, with the margin a scheduler round and the relay need
    await asyncio.sleep(max(0.0, (start - REMINDER_LEAD - datetime.now(UTC)).total_seconds()) + 3)
    assert _reminders(system, booking_id) == []
