"""Reliability with real processes: races between replicas, kill -9, poison messages."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter, defaultdict

import pytest

from ..conftest import BOOKING_WORKERS, System
from .builders import booking_form, future_slot, unique_room

pytestmark = pytest.mark.integration

OUTCOMES = {"booking.confirmed", "booking.rejected"}


async def _rooms(system: System, n: int) -> list[str]:
    rooms = [unique_room() for _ in range(n)]
    for room in rooms:
        await system.publisher.command(
            "rooms.upsert", room_id=room, name=room, capacity=30, equipment=["projector", "microphone"]
        )
    await system.watcher.wait_for(lambda e: e.type == "room.updated" and e.data["room_id"] in rooms, count=n)
    return rooms


async def _submit(system: System, forms: list[dict]) -> dict[str, str]:
    """Publish the forms concurrently; returns submission id → inquiry id once intake took them."""
    await asyncio.gather(
        *(system.publisher.publish("meetdesk.inbound", "webform", f, message_id=f["submission_id"]) for f in forms)
    )
    sids = {f["submission_id"] for f in forms}
    found = await system.watcher.wait_for(
        lambda e: e.type == "inquiry.received" and e.data["source_ref"] in sids, count=len(sids), timeout=60
    )
    return {e.data["source_ref"]: e.data["inquiry_id"] for e in found}


def _distinct_outcomes(system: System, inquiry_ids: set[str]) -> dict[str, set[tuple[str, str]]]:
    """inquiry id → the distinct (type, event_id) outcomes seen (a redelivered event has the same id)."""
    out: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for e in system.watcher.matching(lambda e: e.type in OUTCOMES and e.data["inquiry_id"] in inquiry_ids):
        out[e.data["inquiry_id"]].add((e.type, e.body["event_id"]))
    return out


async def _no_overlaps(system: System, rooms: list[str]) -> None:
    rows = await system.query(
        "booking",
        """SELECT count(*) AS n FROM bookings a JOIN bookings b
             ON a.room_id = b.room_id AND a.booking_id < b.booking_id AND a.blocked && b.blocked
           WHERE a.status <> 'cancelled' AND b.status <> 'cancelled' AND a.room_id = ANY($1)""",
        rooms,
    )
    assert rows[0]["n"] == 0, "two bookings overlap in one room"


async def test_fifty_concurrent_requests_for_one_room_confirm_exactly_one(system: System) -> None:
    assert system.services["booking"].workers == BOOKING_WORKERS == 3
    (room,) = await _rooms(system, 1)
    start, end = future_slot(days=6, hour=9)
    forms = [
        booking_form(room_id=room, start=start, end=end, email=f"guest{i}@example.com", phone=None) for i in range(50)
    ]
    inquiries = await _submit(system, forms)
    ids = set(inquiries.values())
    await system.watcher.wait_for(lambda e: e.type in OUTCOMES and e.data["inquiry_id"] in ids, count=50, timeout=60)

    outcomes = _distinct_outcomes(system, ids)
    assert all(len(v) == 1 for v in outcomes.values()), "an inquiry got more than one answer"
    kinds = Counter(next(iter(v))[0] for v in outcomes.values())
    assert kinds == {"booking.confirmed": 1, "booking.rejected": 49}
    for e in system.watcher.matching(lambda e: e.type == "booking.rejected" and e.data["inquiry_id"] in ids):
        assert e.data["reason_code"] == "room_unavailable"
        assert e.data["alternatives"], "every rejected customer is offered alternatives"
    rows = await system.query("booking", "SELECT count(*) AS n FROM bookings WHERE room_id = $1", room)
    assert rows[0]["n"] == 1
    await _no_overlaps(system, [room])


async def test_kill_9_booking_mid_flight_loses_and_doubles_nothing(system: System) -> None:
    booking = system.services["booking"]
    rooms = await _rooms(system, 10)
    slots = [future_slot(days=8, hour=h) for h in (8, 11, 14, 17, 20)]  # 2 h apart + buffers: no overlap
    forms = []
    for room in rooms:
        for start, end in slots:  # every (room, slot) asked for twice: one wins, one gets alternatives
            for n in range(2):
                forms.append(booking_form(room_id=room, start=start, end=end, email=f"{room}{n}@example.com"))
    assert len(forms) == 100
    inquiries = await _submit(system, forms)
    ids = set(inquiries.values())

    # let booking get going, then kill -9 every booking process while requests are in flight
    await system.watcher.wait_for(lambda e: e.type in OUTCOMES and e.data["inquiry_id"] in ids, count=3, timeout=30)
    booking.kill()
    answered_before_kill = len(_distinct_outcomes(system, ids))
    booking.start()
    await booking.wait_ready()

    await system.watcher.wait_for(lambda e: e.type in OUTCOMES and e.data["inquiry_id"] in ids, count=100, timeout=90)
    await asyncio.sleep(1.0)  # anything doubled would arrive now
    outcomes = _distinct_outcomes(system, ids)
    assert set(outcomes) == ids, f"{len(ids - set(outcomes))} requests were lost"
    doubled = {i: v for i, v in outcomes.items() if len(v) > 1}
    assert not doubled, f"requests answered twice: {doubled}"
    kinds = Counter(next(iter(v))[0] for v in outcomes.values())
    assert kinds == {"booking.confirmed": 50, "booking.rejected": 50}, kinds

    rows = await system.query(
        "booking",
        "SELECT outcome, count(*) AS n FROM booking_requests WHERE inquiry_id = ANY($1) GROUP BY 1",
        list(ids),
    )
    assert {r["outcome"]: r["n"] for r in rows} == {"confirmed": 50, "rejected": 50}
    await _no_overlaps(system, rooms)
    print(f"{answered_before_kill} of 100 answered before the kill; all 100 answered once after restart")


async def _dead_letter(system: System, queue: str, message_id: str, timeout: float = 15.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    seen: list = []
    while asyncio.get_running_loop().time() < deadline:
        seen += await system.publisher.dead_letters(queue)
        for m in seen:
            if m.message_id == message_id:
                return {"headers": dict(m.headers or {}), "body": m.body}
        await asyncio.sleep(0.2)
    raise AssertionError(f"message {message_id} not found in {queue}")


@pytest.mark.parametrize(
    ("body", "expected_reason"),
    [
        (b'{"kind": "booking_request", "submission_id": ', "not valid JSON"),
        (
            json.dumps(
                {"kind": "complaint", "submission_id": "x", "submitted_at": "2026-11-23T10:00:00+08:00"}
            ).encode(),
            "customer",
        ),
        (b'{"kind": "inquiry", "text": "' + b"x" * 1_100_000 + b'"}', "over the limit"),
    ],
    ids=["not-json", "schema", "oversize"],
)
async def test_malformed_inbound_is_dead_lettered_with_reason_and_next_is_served(
    system: System, body: bytes, expected_reason: str
) -> None:
    message_id = f"bad-{uuid.uuid4()}"
    await system.publisher.publish("meetdesk.inbound", "webform", body, message_id=message_id)
    good = booking_form(room_id=None, start=future_slot(days=9)[0], end=future_slot(days=9)[1])
    await system.publisher.publish("meetdesk.inbound", "webform", good, message_id=good["submission_id"])

    letter = await _dead_letter(system, "intake.inbound.dlq", message_id)
    assert expected_reason in letter["headers"]["x-meetdesk-error"]
    assert letter["headers"]["x-meetdesk-queue"] == "intake.inbound"
    assert letter["body"] == body, "the dead letter keeps the original message"
    rejected = await system.watcher.wait_for(
        lambda e: e.type == "intake.rejected" and e.data["message_id"] == message_id
    )
    assert expected_reason in rejected[0].data["reason"]
    assert rejected[0].data["dead_letter_queue"] == "intake.inbound.dlq"
    # the service kept serving: the good message right behind the bad one went through
    await system.watcher.wait_for(
        lambda e: e.type == "inquiry.received" and e.data["source_ref"] == good["submission_id"]
    )


async def test_invalid_command_is_dead_lettered_and_refused(system: System) -> None:
    command_id = str(uuid.uuid4())
    await system.publisher.publish(
        "meetdesk.commands",
        "rooms.upsert",
        {"command_id": command_id, "actor": "ops", "room_id": "r", "name": "r", "capacity": -3},
        message_id=command_id,
    )
    letter = await _dead_letter(system, "booking.commands.dlq", command_id)
    assert "capacity" in letter["headers"]["x-meetdesk-error"]
    refused = await system.watcher.wait_for(
        lambda e: e.type == "command.rejected" and e.data["command_id"] == command_id
    )
    assert refused[0].data["command"] == "rooms.upsert"
    assert "capacity" in refused[0].data["reason"]


async def test_sigterm_drains_gracefully_and_nothing_is_lost(system: System) -> None:
    booking = system.services["booking"]
    rooms = await _rooms(system, 5)
    forms = [
        booking_form(room_id=room, start=start, end=end, email=f"{room}@example.com")
        for room in rooms
        for start, end in [future_slot(days=11, hour=h) for h in (8, 11, 14, 17)]
    ]
    inquiries = await _submit(system, forms)
    ids = set(inquiries.values())
    await system.watcher.wait_for(lambda e: e.type in OUTCOMES and e.data["inquiry_id"] in ids, count=1, timeout=30)
    t0 = asyncio.get_running_loop().time()
    booking.stop()  # SIGTERM to every booking process: in-flight work finishes, the rest stays queued
    assert booking.proc is not None and booking.proc.returncode == 0, booking.tail()
    assert asyncio.get_running_loop().time() - t0 < 25, "shutdown must finish within the compose grace period"
    booking.start()
    await booking.wait_ready()
    await system.watcher.wait_for(
        lambda e: e.type in OUTCOMES and e.data["inquiry_id"] in ids, count=len(ids), timeout=60
    )
    outcomes = _distinct_outcomes(system, ids)
    assert set(outcomes) == ids and all(len(v) == 1 for v in outcomes.values())
    assert Counter(next(iter(v))[0] for v in outcomes.values()) == {"booking.confirmed": len(ids)}
