"""Re-running the meeting on the running system: a customer's confirmed booking, their complaint naming it,
a plan whose action re-runs the meeting; the customer's agreement raises booking.requested tied to the
complaint, booking confirms it, and the complaint's history records the new booking."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ..conftest import System
from .builders import booking_form, future_slot, unique_room
from .test_complaints_http import _command, _http, _register

pytestmark = pytest.mark.integration


async def test_agreeing_to_a_rerun_books_the_meeting_again_and_the_complaint_records_the_booking(
    system: System,
) -> None:
    room = unique_room()
    await system.publisher.command("rooms.upsert", room_id=room, name=room, capacity=30, equipment=["projector"])
    await system.watcher.wait_for(lambda e: e.type == "room.updated" and e.data["room_id"] == room)
    email = f"rerun-{uuid.uuid4().hex[:8]}@example.com"
    start, end = future_slot(days=5, hour=10)
    form = booking_form(room_id=room, start=start, end=end, attendees=14, equipment=["projector"], email=email)
    await system.publisher.publish("meetdesk.inbound", "webform", form, message_id=form["submission_id"])
    (inq,) = await system.watcher.wait_for(
        lambda e: e.type == "inquiry.received" and e.data["source_ref"] == form["submission_id"]
    )
    (booked,) = await system.watcher.wait_for(
        lambda e: e.type == "booking.confirmed" and e.data["inquiry_id"] == inq.data["inquiry_id"], timeout=30
    )
    booking_id = booked.data["booking_id"]

    reg = await _register(system, datetime.now(UTC), customer_email=email, booking_id=booking_id, severity=None)
    cid = reg["complaint_id"]
    assert reg["room_id"] == room, "complaints knows the booking from booking.confirmed"
    rerun_at = start + timedelta(days=2)
    for name, fields in (
        ("complaint.acknowledge", {}),
        ("complaint.investigate", {"root_cause": "equipment_failure"}),
        (
            "complaint.propose_solution",
            {"actions": [{"remedy": "rerun_meeting", "owner": "events-1", "due_at": rerun_at.isoformat()}]},
        ),
    ):
        r = await _command(system, name, complaint_id=cid, **fields)
        assert r.status_code == 200, r.text
        assert "booking.requested" not in [e["type"] for e in r.json()["events"]], "not before the customer agrees"

    r = await _command(system, "complaint.plan_agreement", complaint_id=cid, agreed=True)
    assert r.status_code == 200, r.text
    (request,) = await system.watcher.wait_for(
        lambda e: e.type == "booking.requested" and e.data["inquiry_id"].startswith(f"complaint:{cid}:a1:")
    )
    m = request.data["meeting"]
    assert (m["room_id"], m["attendees"], datetime.fromisoformat(m["start"])) == (room, 14, rerun_at)
    assert datetime.fromisoformat(m["end"]) - datetime.fromisoformat(m["start"]) == end - start
    assert request.data["customer_id"] == booked.data["customer_id"]

    (rebooked,) = await system.watcher.wait_for(
        lambda e: e.type == "booking.confirmed" and e.data["inquiry_id"] == request.data["inquiry_id"], timeout=30
    )
    for _ in range(50):
        body = (await _http(system, "GET", f"/complaints/{cid}")).json()
        done = [h for h in body["history"] if h["action"] == "complaint.rerun_booked"]
        if done:
            break
        await asyncio.sleep(0.2)
    actions = [h["action"] for h in body["history"]]
    assert actions.count("complaint.rerun_requested") == 1 and actions.count("complaint.rerun_booked") == 1, actions
    assert done[0]["data"]["booking_id"] == rebooked.data["booking_id"]
