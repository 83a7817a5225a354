"""Commands from agent tools, end to end: complaint lifecycle, booking changes, refusals."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ..conftest import System
from .builders import booking_form, future_slot, unique_room

pytestmark = pytest.mark.integration


async def _registered_complaint(system: System) -> dict:
    sid = f"c-{uuid.uuid4()}"
    form = {
        "kind": "complaint",
        "submission_id": sid,
        "submitted_at": datetime.now(UTC).isoformat(),
        "customer": {"name": "Chan", "email": f"{sid}@example.com"},
        "category": "catering",
        "text": "The lunch arrived an hour late and was cold.",
    }
    await system.publisher.publish("meetdesk.inbound", "webform", form, message_id=sid)
    (inq,) = await system.watcher.wait_for(lambda e: e.type == "inquiry.received" and e.data["source_ref"] == sid)
    (reg,) = await system.watcher.wait_for(
        lambda e: e.type == "complaint.registered" and e.data["inquiry_id"] == inq.data["inquiry_id"]
    )
    return reg.data


def _changes(system: System, complaint_id: str) -> list[tuple[str, str]]:
    return [
        (e.data["from"], e.data["to"])
        for e in system.watcher.matching(
            lambda e: e.type == "complaint.status_changed" and e.data["complaint_id"] == complaint_id
        )
    ]


async def test_complaint_lifecycle_refusals_and_history(system: System) -> None:
    c = await _registered_complaint(system)
    cid = c["complaint_id"]
    assert c["category"] == "catering"
    registered = datetime.fromisoformat(c["registered_at"])
    assert datetime.fromisoformat(c["acknowledge_due_at"]) - registered <= timedelta(hours=2)

    # closing an unresolved complaint is refused and changes nothing
    refused_id = await system.publisher.command("complaint.close", complaint_id=cid)
    (refused,) = await system.watcher.wait_for(
        lambda e: e.type == "command.rejected" and e.data["command_id"] == refused_id
    )
    assert "registered" in refused.data["reason"]

    ack_id = await system.publisher.command("complaint.acknowledge", complaint_id=cid, note="Called the customer")
    await system.publisher.command("complaint.acknowledge", complaint_id=cid, command_id=ack_id)  # repeated
    await system.watcher.wait_for(lambda e: e.type == "complaint.status_changed" and e.data["complaint_id"] == cid)
    steps = (
        "complaint.investigate",
        "complaint.propose_solution",
        "complaint.start_execution",
        "complaint.resolve",
        "complaint.close",
    )
    for n, name in enumerate(steps, start=2):  # as an agent tool would: each step once the last is done
        if name == "complaint.close":  # closing needs the customer's satisfaction: an agent records it
            await system.publisher.command("complaint.confirm_satisfaction", complaint_id=cid, score=4)
            await system.watcher.wait_for(
                lambda e: e.type == "complaint.satisfaction_recorded" and e.data["complaint_id"] == cid
            )
        await system.publisher.command(name, complaint_id=cid)
        await system.watcher.wait_for(
            lambda e: e.type == "complaint.status_changed" and e.data["complaint_id"] == cid, count=n
        )
    await system.watcher.wait_for(lambda e: e.type == "complaint.closed" and e.data["complaint_id"] == cid)
    await asyncio.sleep(0.5)
    assert _changes(system, cid) == [
        ("registered", "acknowledged"),
        ("acknowledged", "investigating"),
        ("investigating", "solution_proposed"),
        ("solution_proposed", "in_progress"),
        ("in_progress", "resolved"),
        ("resolved", "closed"),
    ], "each transition once, in order; the repeated acknowledge had no effect"

    async with httpx.AsyncClient() as client:
        r = await client.get(
            f"{system.url('complaints')}/complaints/{cid}", headers={"Authorization": f"Bearer {system.token}"}
        )
        assert r.status_code == 200
        body = r.json()
        unauthorised = await client.get(f"{system.url('complaints')}/complaints/{cid}")
    assert unauthorised.status_code == 401
    assert body["status"] == "closed"
    history = [h["action"] for h in body["history"]]
    assert history[0] in ("register", "registered", "complaint.registered")
    assert len(history) == 8, history  # registered, six steps and the customer's satisfaction


async def test_booking_cancel_frees_the_room_and_reschedule_checks_conflicts(system: System) -> None:
    room = unique_room()
    await system.publisher.command("rooms.upsert", room_id=room, name=room, capacity=20, equipment=["projector"])
    await system.watcher.wait_for(lambda e: e.type == "room.updated" and e.data["room_id"] == room)
    start, end = future_slot(days=12, hour=9)
    later_start, later_end = future_slot(days=12, hour=14)
    forms = [
        booking_form(room_id=room, start=s, end=e, equipment=["projector"])
        for s, e in ((start, end), (later_start, later_end))
    ]
    for f in forms:
        await system.publisher.publish("meetdesk.inbound", "webform", f, message_id=f["submission_id"])
    confirmed = await system.watcher.wait_for(
        lambda e: e.type == "booking.confirmed" and e.data["room_id"] == room, count=2
    )
    first = next(e for e in confirmed if datetime.fromisoformat(e.data["start"]) == start)
    second = next(e for e in confirmed if e is not first)

    # moving the first onto the second's time is refused: the room is taken
    clash = await system.publisher.command(
        "booking.reschedule",
        booking_id=first.data["booking_id"],
        start=later_start.isoformat(),
        end=later_end.isoformat(),
    )
    (no,) = await system.watcher.wait_for(lambda e: e.type == "command.rejected" and e.data["command_id"] == clash)
    assert "taken" in no.data["reason"]

    # cancel the second, then the move goes through
    await system.publisher.command("booking.cancel", booking_id=second.data["booking_id"], reason="customer request")
    await system.watcher.wait_for(
        lambda e: e.type == "booking.cancelled" and e.data["booking_id"] == second.data["booking_id"]
    )
    await system.publisher.command(
        "booking.reschedule",
        booking_id=first.data["booking_id"],
        start=later_start.isoformat(),
        end=later_end.isoformat(),
    )
    (moved,) = await system.watcher.wait_for(
        lambda e: e.type == "booking.rescheduled" and e.data["booking_id"] == first.data["booking_id"]
    )
    assert datetime.fromisoformat(moved.data["start"]) == later_start
    assert datetime.fromisoformat(moved.data["previous"]["start"]) == start
    rows = await system.query(
        "booking", "SELECT status, start_at FROM bookings WHERE room_id = $1 ORDER BY created_at", room
    )
    assert sorted((r["status"], r["start_at"]) for r in rows) == [
        ("cancelled", later_start),
        ("confirmed", later_start),
    ]
