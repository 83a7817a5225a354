"""The customer's whole meeting on the running system, time moved forward (every service reads the
clock offset file; each test puts it back): a web form booking → the confirmation → the departments'
preparation → the reminder the day before → the customer's "確認" by email, read by intake → check-in
→ the end of the meeting → the survey → the customer's answer, tied to the booking and its room. Then
a no-show: the room released and offered to the first waiter, who takes it over HTTP; and the agents'
HTTP entry points (commands with a command id, bookings, requests, a room's day)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.contract.events import BookingDetails, BookingRequested, ReplyRoute, make_event
from shared.topology import EVENTS

from ..conftest import System
from .builders import HK, booking_form, unique_room
from .test_intake import email_bytes

pytestmark = pytest.mark.integration


@pytest.fixture
async def clock(system: System) -> AsyncIterator[System]:
    """The system, its clock put back where it was after the test, whatever happens."""
    try:
        yield system
    finally:
        await system.reset_clock()


async def _room(system: System, **rules: Any) -> str:
    """A room open round the clock (the meetings here are at whatever hour the test runs)."""
    room = unique_room()
    await system.publisher.command(
        "rooms.upsert",
        room_id=room,
        name=f"Harbour {room}",
        location="3/F",
        capacity=20,
        equipment=["projector", "lighting"],
        opens_at="00:00",
        closes_at="00:00",
        **rules,
    )
    await system.watcher.wait_for(lambda e: e.type == "room.updated" and e.data["room_id"] == room)
    return room


async def _move_to(system: System, at: datetime) -> None:
    """Move every service's clock so that it reads ``at`` now."""
    await system.move_clock((at - system.now()).total_seconds())


def _of(booking_id: str, *types: str):
    return lambda e: e.type in types and e.data.get("booking_id") == booking_id


def _notice(template: str, key: str, value: str):
    return lambda e: (
        e.type == "notification.requested" and e.data["template"] == template and e.data["parameters"].get(key) == value
    )


async def _http(system: System, method: str, path: str, **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.request(
            method, system.url("booking") + path, headers={"Authorization": f"Bearer {system.token}"}, **kw
        )


async def _command(system: System, name: str, command_id: str | None = None, **fields: Any) -> httpx.Response:
    body = {"command_id": command_id or str(uuid.uuid4()), "actor": "agent-7", **fields}
    return await _http(system, "POST", f"/commands/{name}", json=body)


async def test_the_customers_whole_meeting_from_the_web_form_to_the_survey(clock: System) -> None:
    system, w = clock, clock.watcher
    room = await _room(system)
    email = f"mei.{uuid.uuid4().hex[:8]}@example.com"
    start = (system.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    end = start + timedelta(hours=1)
    form = booking_form(room_id=room, start=start, end=end, email=email, equipment=["projector"])
    sid = form["submission_id"]
    await system.publisher.publish("meetdesk.inbound", "webform", form, message_id=sid)
    (inquiry,) = await w.wait_for(lambda e: e.type == "inquiry.received" and e.data["source_ref"] == sid)
    iid = inquiry.data["inquiry_id"]

    # the confirmation, to the customer's email, and the departments asked with what and by when
    (confirmed,) = await w.wait_for(lambda e: e.type == "booking.confirmed" and e.data["inquiry_id"] == iid)
    booking_id = confirmed.data["booking_id"]
    await w.wait_for(_notice("booking.confirmed", "inquiry_id", iid))
    asked = await w.wait_for(_of(booking_id, "booking.preparation_requested"), count=3)
    deadlines = {e.data["department"]: datetime.fromisoformat(e.data["due_by"]) for e in asked}
    assert deadlines == {
        "equipment": start - timedelta(hours=2),
        "catering": start - timedelta(days=1),  # the form asks for 茶點
        "setup": start - timedelta(hours=1),
    }
    assert {e.body["correlation_id"] for e in asked} == {confirmed.body["correlation_id"]}

    # the equipment team reports over HTTP (a repeated POST has no second effect), the setup over the queue
    done_id = str(uuid.uuid4())
    first = await _command(system, "booking.preparation_done", done_id, booking_id=booking_id, department="equipment")
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "done" and [e["type"] for e in first.json()["events"]] == ["booking.prepared"]
    again = await _command(system, "booking.preparation_done", done_id, booking_id=booking_id, department="equipment")
    assert again.status_code == 200 and again.json() == {**first.json(), "repeated": True}
    await system.publisher.command("booking.preparation_done", booking_id=booking_id, department="setup")
    await w.wait_for(_of(booking_id, "booking.prepared"), count=2)

    # the day before: the reminder, to the customer's email; the catering, not reported, is overdue
    await _move_to(system, start - timedelta(days=1) + timedelta(seconds=2))
    (reminder,) = await w.wait_for(_of(booking_id, "booking.reminder_due"), timeout=20)
    assert reminder.data["reply_to"]["address"] == email
    await w.wait_for(_notice("booking.reminder", "booking_id", booking_id))
    (overdue,) = await w.wait_for(_of(booking_id, "booking.preparation_overdue"))
    assert overdue.data["department"] == "catering"

    # the customer answers the reminder by email: intake reads 確認, booking records it and says thank you
    for _ in range(100):  # intake has recorded the question it asked on the customer's route
        if await system.query("intake", "SELECT 1 FROM awaiting_answers WHERE address = $1", email):
            break
        await asyncio.sleep(0.1)
    answer, _ = email_bytes(sender=email, subject="Re: 會議提醒", body="確認", date=system.now())
    await system.publisher.publish("meetdesk.inbound", "email", answer, content_type="message/rfc822")
    (attending,) = await w.wait_for(_of(booking_id, "booking.attendance_confirmed"), timeout=20)
    assert attending.data["actor"] == "customer"
    (thanks,) = await w.wait_for(_notice("booking.attendance_confirmed", "booking_id", booking_id))
    assert (thanks.data["channel"], thanks.data["address"], thanks.data["language"]) == ("email", email, "zh-Hant")

    # the meeting: checked in at the desk (over HTTP), so not released; it ends, completed, and the survey
    await _move_to(system, start + timedelta(minutes=5))
    checked = await _command(system, "booking.check_in", booking_id=booking_id, actor="front-desk")
    assert checked.status_code == 200, checked.text
    assert [e["type"] for e in checked.json()["events"]] == ["booking.checked_in"]
    await _move_to(system, end + timedelta(seconds=2))
    (completed,) = await w.wait_for(_of(booking_id, "booking.completed"), timeout=20)
    assert completed.data["checked_in"] is True and completed.data["room_id"] == room
    (survey,) = await w.wait_for(_notice("booking.survey", "booking_id", booking_id))
    assert survey.data["address"] == email
    subject = survey.data["parameters"]["survey"]
    assert subject == {"type": "booking", "id": booking_id, "room_id": room, "agent_id": None}
    assert not w.matching(_of(booking_id, "booking.released")), "checked in: never released"
    assert len(w.matching(_of(booking_id, "booking.preparation_overdue"))) == 1, "done in time: never overdue"

    # the customer's answer to the survey comes back through intake, tied to the booking and its room
    response_id = f"sv-{uuid.uuid4()}"
    survey_answer = {
        "subject": subject,
        "score": 5,
        "comment": "很好",
        "respondent": {"email": email},
        "response_id": response_id,
        "submitted_at": system.now().isoformat(),
    }
    await system.publisher.publish("meetdesk.inbound", "survey", survey_answer, message_id=response_id)
    (feedback,) = await w.wait_for(lambda e: e.type == "feedback.received" and e.data.get("subject_id") == booking_id)
    assert (feedback.data["subject_type"], feedback.data["room_id"], feedback.data["score"]) == ("booking", room, 5)

    record = (await _http(system, "GET", f"/bookings/{booking_id}")).json()
    assert record["status"] == "completed"
    assert record["attendance_confirmed_at"] and record["checked_in_at"] and record["completed_at"]
    tasks = {t["department"]: t for t in record["preparation"]}
    assert tasks["equipment"]["done_by"] == "agent-7" and tasks["catering"]["overdue_at"]


def _requested(
    room: str, start: datetime, *, customer: str, wait: bool = False, route: ReplyRoute | None = None
) -> tuple[str, bytes]:
    """booking.requested as intake publishes it (the waitlist opt-in is the requester's)."""
    inquiry_id = str(uuid.uuid4())
    data = BookingRequested(
        inquiry_id=inquiry_id,
        customer_id=customer,
        channel="wechat",
        language="zh-Hans",
        meeting=BookingDetails(
            name="Weekly sync", start=start, end=start + timedelta(hours=1), attendees=6, room_id=room
        ),
        reply_to=route,
        wait_if_taken=wait,
    )
    return inquiry_id, make_event(data, producer="intake", correlation_id=uuid.uuid4()).to_bytes()


async def _ask(system: System, room: str, start: datetime, **kw: Any) -> tuple[str, Any]:
    inquiry_id, body = _requested(room, start, **kw)
    await system.publisher.publish(EVENTS, "booking.requested", body, message_id=inquiry_id)
    (outcome,) = await system.watcher.wait_for(
        lambda e: e.type in {"booking.confirmed", "booking.rejected"} and e.data["inquiry_id"] == inquiry_id
    )
    return inquiry_id, outcome


async def test_a_no_show_releases_the_room_and_the_first_waiter_is_offered_it(clock: System) -> None:
    system, w = clock, clock.watcher
    room = await _room(system)
    start = (system.now() + timedelta(hours=1)).replace(second=0, microsecond=0)
    _, booked = await _ask(system, room, start, customer=f"c-{uuid.uuid4().hex[:6]}")
    assert booked.type == "booking.confirmed"
    booking_id = booked.data["booking_id"]
    route = ReplyRoute(channel="wechat", address=f"wechat:o{uuid.uuid4().hex[:12]}", language="zh-Hans")
    waiter, rejected = await _ask(system, room, start, customer=f"w-{uuid.uuid4().hex[:6]}", wait=True, route=route)
    assert rejected.type == "booking.rejected"
    (told,) = await w.wait_for(_notice("booking.rejected", "inquiry_id", waiter))
    assert told.data["parameters"]["waitlist"] is True
    line = (await _http(system, "GET", "/waitlist", params={"room_id": room})).json()["items"]
    assert [(r["inquiry_id"], r["waitlist"], r["position"]) for r in line] == [(waiter, "waiting", 1)]

    # nobody checks in: twenty minutes after the start the room is released, and held for the waiter
    await _move_to(system, start + timedelta(minutes=20, seconds=2))
    (released,) = await w.wait_for(_of(booking_id, "booking.released"), timeout=20)
    assert released.data["reason"] == "no_show"
    (offered,) = await w.wait_for(lambda e: e.type == "booking.waitlist_offered" and e.data["inquiry_id"] == waiter)
    assert offered.data["room_id"] == room and datetime.fromisoformat(offered.data["start"]) == start
    accept_by = datetime.fromisoformat(offered.data["accept_by"])
    assert timedelta(minutes=14) < accept_by - system.now() <= timedelta(minutes=15)
    (offer_notice,) = await w.wait_for(_notice("booking.waitlist_offered", "inquiry_id", waiter))
    assert offer_notice.data["address"] == route.address
    assert offer_notice.data["parameters"]["accept"] == {"command": "booking.waitlist_accept", "inquiry_id": waiter}
    day = await _http(system, "GET", f"/rooms/{room}/day", params={"date": start.astimezone(HK).date().isoformat()})
    statuses = {b["inquiry_id"]: b["status"] for b in day.json()["bookings"]}
    assert statuses[booked.data["inquiry_id"]] == "released" and statuses[waiter] == "held"

    # the waiter takes it (an agent, over HTTP): booked like any request
    taken = await _command(system, "booking.waitlist_accept", inquiry_id=waiter, actor="customer")
    assert taken.status_code == 200, taken.text
    assert "booking.confirmed" in [e["type"] for e in taken.json()["events"]]
    (confirmed,) = await w.wait_for(lambda e: e.type == "booking.confirmed" and e.data["inquiry_id"] == waiter)
    assert confirmed.data["room_id"] == room
    listed = (await _http(system, "GET", "/requests", params={"waitlist": "accepted", "limit": 500})).json()
    assert waiter in {r["inquiry_id"] for r in listed["items"]}
    late = await _command(system, "booking.waitlist_accept", inquiry_id=waiter, actor="customer")
    assert late.status_code == 409 and late.json()["reason"] == "the offer was already accepted"


async def test_commands_over_http_answer_with_the_outcome_once_and_bookings_are_listed(system: System) -> None:
    room = await _room(system)
    customer = f"c-{uuid.uuid4().hex[:8]}"
    base = (system.now() + timedelta(days=30)).astimezone(HK).replace(hour=10, minute=0, second=0, microsecond=0)
    ids = []
    for day in range(3):
        _, outcome = await _ask(system, room, base + timedelta(days=day), customer=customer)
        ids.append(outcome.data["booking_id"])
    rejected, outcome = await _ask(system, room, base, customer=customer)
    assert outcome.type == "booking.rejected"

    async with httpx.AsyncClient() as client:
        anonymous = await client.post(system.url("booking") + "/commands/booking.cancel", json={})
    assert anonymous.status_code == 401
    assert (await _command(system, "booking.nothing", booking_id=ids[0])).status_code == 404
    invalid = await _command(system, "booking.reschedule", booking_id=ids[0], start="tomorrow")
    assert invalid.status_code == 422 and "start" in invalid.json()["error"]

    command_id = str(uuid.uuid4())
    first = await _command(system, "booking.cancel", command_id, booking_id=ids[2], reason="plans changed")
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["outcome"], body["repeated"]) == ("done", False)
    assert [e["type"] for e in body["events"]] == ["booking.cancelled"]
    assert body["events"][0]["data"]["booking_id"] == ids[2]
    again = await _command(system, "booking.cancel", command_id, booking_id=ids[2], reason="plans changed")
    assert again.json() == {**body, "repeated": True}, "the same answer; nothing done again"
    refused = await _command(system, "booking.cancel", booking_id=ids[2])
    assert refused.status_code == 409 and refused.json()["reason"] == "the booking is already cancelled"
    await system.watcher.wait_for(_of(ids[2], "booking.cancelled"))
    await asyncio.sleep(0.5)
    assert len(system.watcher.matching(_of(ids[2], "booking.cancelled"))) == 1
    # a command that came over the queue first is not applied again over HTTP
    queued = await system.publisher.command("booking.change", booking_id=ids[1], attendees=8)
    await system.watcher.wait_for(_of(ids[1], "booking.updated"))
    late = await _command(system, "booking.change", queued, booking_id=ids[1], attendees=8)
    assert late.json()["outcome"] == "already_applied" and late.json()["repeated"] is True

    # the bookings: by customer, status and room, a page at a time; by a venue day
    page = (await _http(system, "GET", "/bookings", params={"customer_id": customer, "limit": 2})).json()
    assert [b["booking_id"] for b in page["items"]] == ids[:2] and page["next"]
    rest = (await _http(system, "GET", "/bookings", params={"customer_id": customer, "cursor": page["next"]})).json()
    assert [b["booking_id"] for b in rest["items"]] == ids[2:] and rest["next"] is None
    cancelled = (
        await _http(system, "GET", "/bookings", params={"customer_id": customer, "status": "cancelled"})
    ).json()
    assert [b["booking_id"] for b in cancelled["items"]] == [ids[2]]
    on_day = {"room_id": room, "date": (base + timedelta(days=1)).date().isoformat()}
    assert [b["booking_id"] for b in (await _http(system, "GET", "/bookings", params=on_day)).json()["items"]] == [
        ids[1]
    ]
    assert (await _http(system, "GET", "/bookings", params={"status": "lost"})).status_code == 400

    # the rejected request with its alternatives; the room's day
    found = (await _http(system, "GET", "/requests", params={"customer_id": customer, "outcome": "rejected"})).json()
    (request,) = found["items"]
    assert (
        request["inquiry_id"] == rejected and request["alternatives"] and request["reason_code"] == "room_unavailable"
    )
    day = (await _http(system, "GET", f"/rooms/{room}/day", params={"date": base.date().isoformat()})).json()
    assert [b["booking_id"] for b in day["bookings"]] == [ids[0]]
    assert day["free"] == [
        {"start": day["opens"], "end": (base - timedelta(minutes=15)).isoformat()},
        {"start": (base + timedelta(hours=1, minutes=15)).isoformat(), "end": day["closes"]},
    ]
    assert (await _http(system, "GET", "/rooms/no-such-room/day")).status_code == 404
