"""The customer's whole meeting, end to end with the four services running: the confirmation sent to
the customer on the channel they used, a rejection's alternative accepted, a series cancelled as a
whole, and a room's own opening hours."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from ..conftest import System
from .builders import HK, booking_form, future_slot, unique_room

pytestmark = pytest.mark.integration


async def _room(system: System, equipment: tuple[str, ...] = ("projector", "microphone"), **rules: object) -> str:
    """A new room; equipment no other test's rooms have keeps the alternatives to rooms of this test."""
    room = unique_room()
    await system.publisher.command(
        "rooms.upsert", room_id=room, name=f"Harbour {room}", location="3/F", capacity=20,
        equipment=list(equipment), **rules,
    )  # fmt: skip
    await system.watcher.wait_for(lambda e: e.type == "room.updated" and e.data["room_id"] == room)
    return room


async def _request(system: System, form: dict) -> tuple[str, object]:
    """Publish a web form; its inquiry id and its outcome (booking.confirmed or booking.rejected)."""
    sid = form["submission_id"]
    await system.publisher.publish("meetdesk.inbound", "webform", form, message_id=sid)
    w = system.watcher
    (inquiry,) = await w.wait_for(lambda e: e.type == "inquiry.received" and e.data["source_ref"] == sid)
    iid = inquiry.data["inquiry_id"]
    (outcome, *_) = await w.wait_for(
        lambda e: e.type in {"booking.confirmed", "booking.rejected"} and e.data["inquiry_id"] == iid
    )
    return iid, outcome


async def _told(system: System, template: str, inquiry_id: str) -> object:
    (notice,) = await system.watcher.wait_for(
        lambda e: (
            e.type == "notification.requested"
            and e.data["template"] == template
            and e.data["parameters"].get("inquiry_id") == inquiry_id
        )
    )
    return notice


async def test_a_web_form_booking_is_confirmed_to_the_customers_email_in_venue_time(system: System) -> None:
    room = await _room(system)
    start, end = future_slot(days=3, hour=14)
    form = booking_form(room_id=room, start=start, end=end, email="mei.ling@example.com")
    iid, confirmed = await _request(system, form)
    assert confirmed.type == "booking.confirmed", confirmed.data

    notice = await _told(system, "booking.confirmed", iid)
    n = notice.data
    assert (n["channel"], n["address"], n["language"]) == ("email", "mei.ling@example.com", "zh-Hant")
    assert n["customer_id"] == confirmed.data["customer_id"]
    assert notice.body["correlation_id"] == confirmed.body["correlation_id"], "one correlation id for the request"
    p = n["parameters"]
    assert p["booking_ids"] == [confirmed.data["booking_id"]]
    assert p["room"] == {"room_id": room, "name": f"Harbour {room}", "location": "3/F"}
    assert (p["start"], p["end"]) == (start.astimezone(HK).isoformat(), end.astimezone(HK).isoformat())
    weekday = "一二三四五六日"[start.weekday()]
    when = f"{start.year}年{start.month}月{start.day}日（星期{weekday}）14:00–16:00"
    assert p["when"] == when
    assert p["text"].startswith("您的會議預訂已確認：「季度董事會 Quarterly board meeting」。")
    assert f"時間：{when}" in p["text"] and "設備：麥克風、投影儀" in p["text"]
    rows = await system.query("booking", "SELECT reply_to FROM bookings WHERE inquiry_id = $1", iid)
    assert '"mei.ling@example.com"' in rows[0]["reply_to"], "the route is kept with the booking for its reminder"


async def test_a_rejected_request_takes_an_alternative_it_was_offered(system: System) -> None:
    room = await _room(system, ("projector", "lighting"))
    start, end = future_slot(days=6, hour=10)
    kw = {"room_id": room, "start": start, "end": end, "equipment": ["lighting"]}
    _, confirmed = await _request(system, booking_form(**kw))
    assert confirmed.type == "booking.confirmed"
    second, rejected = await _request(system, booking_form(**kw, email="wong@example.com"))
    assert rejected.type == "booking.rejected" and rejected.data["alternatives"]

    notice = await _told(system, "booking.rejected", second)
    assert notice.data["address"] == "wong@example.com"
    offers = notice.data["parameters"]["alternatives"]
    assert [(o["accept"]["room_id"], o["accept"]["start"]) for o in offers] == [
        (a["room_id"], datetime.fromisoformat(a["start"]).astimezone(HK).isoformat())
        for a in rejected.data["alternatives"]
    ]
    take = offers[-1]["accept"]
    fields = {k: take[k] for k in ("inquiry_id", "room_id", "start", "end")}
    command_id = await system.publisher.command(take["command"], **fields)
    await system.publisher.command(take["command"], command_id=command_id, **fields)  # repeated: no second effect

    (booked,) = await system.watcher.wait_for(
        lambda e: e.type == "booking.confirmed" and e.data["inquiry_id"] == second
    )
    assert booked.data["room_id"] == take["room_id"]
    assert datetime.fromisoformat(booked.data["start"]) == datetime.fromisoformat(take["start"])
    told = await _told(system, "booking.confirmed", second)
    assert told.data["address"] == "wong@example.com", "on the original request's reply route"

    again = await system.publisher.command(take["command"], **fields)  # a new command: refused, with the reason
    (refused,) = await system.watcher.wait_for(lambda e: e.type == "command.rejected" and e.data["command_id"] == again)
    assert refused.data["reason"] == "an alternative was already accepted for this request"
    await asyncio.sleep(1.0)
    assert len(system.watcher.matching(lambda e: e.type == "booking.confirmed" and e.data["inquiry_id"] == second)) == 1
    rows = await system.query(
        "booking",
        "SELECT outcome, accepted IS NOT NULL AS accepted FROM booking_requests WHERE inquiry_id = $1",
        second,
    )
    assert [(r["outcome"], r["accepted"]) for r in rows] == [("confirmed", True)]
    assert not system.watcher.matching(lambda e: e.type == "command.rejected" and e.data["command_id"] == command_id)


async def test_a_weekly_series_is_cancelled_as_a_whole(system: System) -> None:
    room = await _room(system)
    start, end = future_slot(days=9, hour=9)
    form = booking_form(room_id=room, start=start, end=end)
    form["meeting"]["recurrence"] = {"freq": "weekly", "count": 4}
    iid, _ = await _request(system, form)
    confirmed = await system.watcher.wait_for(
        lambda e: e.type == "booking.confirmed" and e.data["inquiry_id"] == iid, count=4
    )
    ids = [e.data["booking_id"] for e in sorted(confirmed, key=lambda e: e.data["start"])]
    assert len({e.data["series_id"] for e in confirmed}) == 1
    told = await _told(system, "booking.confirmed", iid)
    assert [o["booking_id"] for o in told.data["parameters"]["occurrences"]] == ids, "one notification, all four"
    reminders = await system.query(
        "booking", "SELECT count(*) AS n FROM due_items WHERE kind = 'booking.reminder' AND key = ANY($1)", ids
    )
    assert reminders[0]["n"] == 4

    await system.publisher.command("booking.cancel", booking_id=ids[2], scope="series", reason="board dissolved")
    cancelled = await system.watcher.wait_for(
        lambda e: e.type == "booking.cancelled" and e.data["booking_id"] in ids, count=4
    )
    assert sorted(e.data["booking_id"] for e in cancelled) == sorted(ids)
    rows = await system.query("booking", "SELECT DISTINCT status FROM bookings WHERE inquiry_id = $1", iid)
    assert [r["status"] for r in rows] == ["cancelled"]
    reminders = await system.query(
        "booking", "SELECT count(*) AS n FROM due_items WHERE kind = 'booking.reminder' AND key = ANY($1)", ids
    )
    assert reminders[0]["n"] == 0, "the reminders went with them"


async def test_a_room_with_its_own_opening_hours_refuses_a_meeting_outside_them(system: System) -> None:
    room = await _room(system, ("lighting", "whiteboard"), opens_at="09:00", closes_at="17:00", setup_buffer_minutes=30)
    (updated,) = system.watcher.matching(lambda e: e.type == "room.updated" and e.data["room_id"] == room)
    assert (updated.data["opens_at"], updated.data["closes_at"], updated.data["setup_buffer_minutes"]) == (
        "09:00:00",
        "17:00:00",
        30,
    )
    start, end = future_slot(days=7, hour=16)  # 16:00-18:00: past the room's 17:00
    kw = {"room_id": room, "equipment": ["lighting", "whiteboard"]}
    _, rejected = await _request(system, booking_form(start=start, end=end, **kw))
    assert rejected.type == "booking.rejected"
    assert rejected.data["reason_code"] == "invalid"
    assert "is open 09:00–17:00 (venue time)" in rejected.data["reason"]
    in_room = [a for a in rejected.data["alternatives"] if a["room_id"] == room]
    assert in_room, "times within its hours are offered"
    for a in in_room:
        s, e = datetime.fromisoformat(a["start"]).astimezone(HK), datetime.fromisoformat(a["end"]).astimezone(HK)
        assert s.hour >= 9 and (e.hour, e.minute) <= (17, 0), a

    # within the hours it is booked, with the room's own setup buffer; moving it past closing is refused
    ok_start, ok_end = future_slot(days=7, hour=10)
    _, confirmed = await _request(system, booking_form(start=ok_start, end=ok_end, **kw))
    assert confirmed.type == "booking.confirmed"
    rows = await system.query(
        "booking", "SELECT lower(blocked) AS b FROM bookings WHERE booking_id = $1::uuid", confirmed.data["booking_id"]
    )
    assert rows[0]["b"] == ok_start - timedelta(minutes=30)
    late_start, late_end = future_slot(days=8, hour=16)
    move = await system.publisher.command(
        "booking.reschedule",
        booking_id=confirmed.data["booking_id"],
        start=late_start.isoformat(),
        end=late_end.isoformat(),
    )
    (refused,) = await system.watcher.wait_for(lambda e: e.type == "command.rejected" and e.data["command_id"] == move)
    assert "is open 09:00–17:00" in refused.data["reason"]


async def test_a_daily_series_moves_a_day_on_as_a_whole_and_is_changed_as_a_whole(system: System) -> None:
    """Each occurrence moves onto the day of the next: the database takes the whole move at once."""
    room = await _room(system)
    start, end = future_slot(days=20, hour=10)
    form = booking_form(room_id=room, start=start, end=end)
    form["meeting"]["recurrence"] = {"freq": "daily", "count": 3}
    iid, _ = await _request(system, form)
    confirmed = await system.watcher.wait_for(
        lambda e: e.type == "booking.confirmed" and e.data["inquiry_id"] == iid, count=3
    )
    ids = [e.data["booking_id"] for e in sorted(confirmed, key=lambda e: e.data["start"])]

    later_start, later_end = future_slot(days=21, hour=10, hours=3)
    await system.publisher.command(
        "booking.reschedule",
        booking_id=ids[0],
        scope="series",
        start=later_start.isoformat(),
        end=later_end.isoformat(),
    )
    moved = await system.watcher.wait_for(
        lambda e: e.type == "booking.rescheduled" and e.data["booking_id"] in ids, count=3
    )
    assert sorted(datetime.fromisoformat(e.data["start"]) for e in moved) == [
        later_start + timedelta(days=d) for d in range(3)
    ]
    rows = await system.query(
        "booking", "SELECT start_at, end_at FROM bookings WHERE inquiry_id = $1 ORDER BY occurrence", iid
    )
    assert [(r["start_at"], r["end_at"]) for r in rows] == [
        (later_start + timedelta(days=d), later_end + timedelta(days=d)) for d in range(3)
    ]

    change = await system.publisher.command("booking.change", booking_id=ids[1], scope="series", attendees=25)
    (refused,) = await system.watcher.wait_for(
        lambda e: e.type == "command.rejected" and e.data["command_id"] == change
    )
    assert refused.data["reason"].endswith(f"room {room} holds 20, the meeting needs 25")
    await system.publisher.command("booking.change", booking_id=ids[1], scope="series", attendees=18)
    updated = await system.watcher.wait_for(
        lambda e: e.type == "booking.updated" and e.data["booking_id"] in ids, count=3
    )
    assert {e.data["attendees"] for e in updated} == {18}
