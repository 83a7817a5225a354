"""The main flow, end to end, with the four services running as real processes."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime

import httpx
import pytest

from ..conftest import System
from .builders import HK, booking_form, future_slot, unique_room

pytestmark = pytest.mark.integration


async def _kpis(system: System) -> dict:
    async with httpx.AsyncClient() as client:
        r = await client.get(
            system.url("metrics") + "/kpis",
            params={"period": "today"},
            headers={"Authorization": f"Bearer {system.token}"},
        )
    assert r.status_code == 200, r.text
    return r.json()


async def _upsert_room(system: System, room_id: str, capacity: int = 20) -> None:
    await system.publisher.command(
        "rooms.upsert",
        room_id=room_id,
        name=f"Harbour {room_id}",
        location="3/F",
        capacity=capacity,
        equipment=["projector", "microphone", "audio"],
    )
    await system.watcher.wait_for(lambda e: e.type == "room.updated" and e.data["room_id"] == room_id)


async def test_webform_booking_request_is_confirmed_and_counted(system: System) -> None:
    room = unique_room()
    await _upsert_room(system, room)
    before = (await _kpis(system))["totals"]["bookings"]["confirmed"]
    start, end = future_slot(days=2)
    form = booking_form(room_id=room, start=start, end=end)
    sid = form["submission_id"]
    t0 = time.monotonic()
    await system.publisher.publish("meetdesk.inbound", "webform", form, message_id=sid)

    w = system.watcher
    inquiry = (await w.wait_for(lambda e: e.type == "inquiry.received" and e.data["source_ref"] == sid))[0]
    iid = inquiry.data["inquiry_id"]
    requested = (await w.wait_for(lambda e: e.type == "booking.requested" and e.data["inquiry_id"] == iid))[0]
    confirmed = (await w.wait_for(lambda e: e.type == "booking.confirmed" and e.data["inquiry_id"] == iid))[0]
    latency = time.monotonic() - t0

    # one correlation id end to end, on the envelope and on the AMQP property
    correlation = inquiry.body["correlation_id"]
    for e in (inquiry, requested, confirmed):
        assert e.body["correlation_id"] == correlation
        assert e.correlation_id == correlation
        assert e.message_id == e.body["event_id"]
        assert e.persistent
    assert confirmed.body["causation_id"] == requested.body["event_id"]

    assert inquiry.data["intent"] == "booking_request"
    assert inquiry.data["channel"] == "webform"
    assert inquiry.data["language"] == "zh-Hant"
    assert inquiry.data["customer"]["email"] == "tai.man@example.com"
    assert inquiry.data["customer"]["phone"] == "+85221234567"
    assert confirmed.data["room_id"] == room
    assert datetime.fromisoformat(confirmed.data["start"]) == start.astimezone(HK)
    assert confirmed.data["attendees"] == 10

    # metrics counts it: today's confirmed bookings went up by exactly one
    deadline = time.monotonic() + 10
    while True:
        after = (await _kpis(system))["totals"]["bookings"]["confirmed"]
        if after == before + 1 or time.monotonic() > deadline:
            break
    assert after == before + 1
    print(f"webform → booking.confirmed in {latency * 1000:.0f} ms")


async def test_conflicting_request_is_rejected_with_alternatives(system: System) -> None:
    room = unique_room()
    await _upsert_room(system, room)
    start, end = future_slot(days=4, hour=10)
    first, second = (booking_form(room_id=room, start=start, end=end) for _ in range(2))
    for form in (first, second):
        await system.publisher.publish("meetdesk.inbound", "webform", form, message_id=form["submission_id"])
    w = system.watcher
    inquiries = await w.wait_for(
        lambda e: (
            e.type == "inquiry.received" and e.data["source_ref"] in {first["submission_id"], second["submission_id"]}
        ),
        count=2,
    )
    ids = {e.data["inquiry_id"] for e in inquiries}
    outcomes = await w.wait_for(
        lambda e: e.type in {"booking.confirmed", "booking.rejected"} and e.data["inquiry_id"] in ids, count=2
    )
    kinds = sorted(e.type for e in outcomes)
    assert kinds == ["booking.confirmed", "booking.rejected"]
    rejected = next(e for e in outcomes if e.type == "booking.rejected")
    assert rejected.data["reason_code"] == "room_unavailable"
    assert room in rejected.data["reason"]
    assert rejected.data["alternatives"], "the customer must be offered alternatives"
    for alt in rejected.data["alternatives"]:
        a_start = datetime.fromisoformat(alt["start"])
        assert not (alt["room_id"] == room and a_start == start), "an alternative must not be the taken slot"


async def test_same_webform_delivered_twice_is_one_inquiry_and_one_booking(system: System) -> None:
    room = unique_room()
    await _upsert_room(system, room)
    start, end = future_slot(days=5)
    form = booking_form(room_id=room, start=start, end=end)
    sid = form["submission_id"]
    # twice, as a retrying publisher would: the second time even with another AMQP message id
    await system.publisher.publish("meetdesk.inbound", "webform", form, message_id=sid)
    await system.publisher.publish("meetdesk.inbound", "webform", form, message_id=str(uuid.uuid4()))
    w = system.watcher
    inquiry = (await w.wait_for(lambda e: e.type == "inquiry.received" and e.data["source_ref"] == sid))[0]
    iid = inquiry.data["inquiry_id"]
    await w.wait_for(lambda e: e.type == "booking.confirmed" and e.data["inquiry_id"] == iid)
    # a marker published after both copies; once its outcome is out and a moment has passed, the
    # second copy has long been consumed (prefetch lets them run side by side, hence the pause)
    marker = booking_form(room_id=room, start=start.replace(hour=19), end=end.replace(hour=20))
    await system.publisher.publish("meetdesk.inbound", "webform", marker, message_id=marker["submission_id"])
    m_inq = await w.wait_for(lambda e: e.type == "inquiry.received" and e.data["source_ref"] == marker["submission_id"])
    m_id = m_inq[0].data["inquiry_id"]
    await w.wait_for(lambda e: e.type in {"booking.confirmed", "booking.rejected"} and e.data["inquiry_id"] == m_id)
    await asyncio.sleep(1.0)

    assert len(w.matching(lambda e: e.type == "inquiry.received" and e.data["source_ref"] == sid)) == 1
    assert (
        len(
            {
                e.body["event_id"]
                for e in w.matching(lambda e: e.type == "booking.confirmed" and e.data["inquiry_id"] == iid)
            }
        )
        == 1
    )
    rows = await system.query("intake", "SELECT count(*) AS n FROM inquiries WHERE source_ref = $1", sid)
    assert rows[0]["n"] == 1
    rows = await system.query("booking", "SELECT count(*) AS n FROM bookings WHERE inquiry_id = $1", iid)
    assert rows[0]["n"] == 1
