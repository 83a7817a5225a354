"""The desk's API on the running system (issue 15): what an agent sees through intake's HTTP paths and
what their commands do, with the four services as real processes.

- a customer writing on chat is awaiting a reply until a Chatwoot agent answers;
- a WeChat booking request without its time is listed as incomplete with what it lacks, an agent
  completes it, booking confirms it and the confirmation goes to the customer's WeChat;
- a missed call is a call-back, reminded when left open, recorded until the customer is reached;
- an agent books for a known customer (customer.book): booking confirms it in the agent's name and the
  confirmation goes to the customer's chat; an unknown customer, or a channel they have no address on, is
  refused;
- two customer records are linked and unlinked, the customer file shows both and the history;
- a supervisor hands one agent's open work to another; an agent may not.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.runtime import derive_uuid

from ..conftest import System
from ..system import AGENT_PRINCIPAL, AGENT_TOKEN, SUPERVISOR_TOKEN
from .builders import (
    HK,
    chat_and_wechat_customers,
    chatwoot,
    future_slot,
    missed_call,
    publish,
    round_the_clock_room,
    unique_room,
    wechat_text,
)

pytestmark = pytest.mark.integration


async def get(system: System, path: str, token: str = AGENT_TOKEN, **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=system.url("intake"), timeout=10) as client:
        return await client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})


async def command(system: System, name: str, body: dict[str, Any], token: str = AGENT_TOKEN) -> httpx.Response:
    body = {"command_id": str(uuid.uuid4()), **body}
    async with httpx.AsyncClient(base_url=system.url("intake"), timeout=10) as client:
        return await client.post(f"/commands/{name}", json=body, headers={"Authorization": f"Bearer {token}"})


async def eventually(probe: Any, timeout: float = 10.0) -> Any:
    """``await probe()`` until it returns something truthy (the services apply what they take in a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        found = await probe()
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def listed(system: System, path: str, key: str, value: str, **params: Any) -> dict[str, Any] | None:
    response = await get(system, path, limit=200, **params)
    assert response.status_code == 200, response.text
    return next((i for i in response.json()["items"] if i[key] == value), None)


# -- awaiting reply ---------------------------------------------------------------------------------
async def test_a_customer_on_chat_awaits_a_reply_until_a_chatwoot_agent_answers(system: System) -> None:
    conv = 70000 + uuid.uuid4().int % 10000
    conversation_id = f"chatwoot:{conv}"
    assert (await get(system, "/conversations", token="not-a-token")).status_code == 401

    await publish(system, "chat", chatwoot(conv, conv * 10, "Hello, do you have parking near the venue?"))

    async def waiting() -> dict[str, Any] | None:
        return await listed(system, "/conversations", "conversation_id", conversation_id, awaiting="true")

    item = await eventually(waiting)
    assert item is not None, "the customer's message awaits a reply"
    assert (item["channel"], item["language"], item["intent"], item["assignee"]) == ("chat", "en", "inquiry", None)
    assert item["customer_name"] == "Wong Tai Sin" and item["text"].startswith("Hello")
    assert item["waiting_seconds"] >= 0 and item["inquiry_id"] and item["customer_id"]
    assert await listed(system, "/conversations", "conversation_id", conversation_id, awaiting="true", assignee="none")

    assigned = await command(system, "conversation.assign", {"conversation_id": conversation_id, "agent_id": "ann"})
    assert assigned.status_code == 200, assigned.text
    (event,) = assigned.json()["events"]
    assert event["type"] == "conversation.assigned"
    assert event["data"] == {
        "conversation_id": conversation_id,
        "agent_id": "ann",
        "previous_agent_id": None,
        "actor": AGENT_PRINCIPAL,
    }
    mine = await listed(system, "/conversations", "conversation_id", conversation_id, awaiting="true", assignee="ann")
    assert mine is not None and mine["assignee"] == "ann"
    assert not await listed(
        system, "/conversations", "conversation_id", conversation_id, awaiting="true", assignee="none"
    )
    unknown = await command(system, "conversation.assign", {"conversation_id": "chatwoot:0", "agent_id": "ann"})
    assert unknown.status_code == 409 and "no conversation" in unknown.json()["reason"]

    await publish(system, "chat", chatwoot(conv, conv * 10 + 1, "Yes, 40 spaces below the venue.", outgoing=True))
    await system.watcher.wait_for(lambda e: e.type == "agent.replied" and e.data["conversation_id"] == conversation_id)

    async def answered() -> bool:
        return await listed(system, "/conversations", "conversation_id", conversation_id, awaiting="true") is None

    assert await eventually(answered), "the agent's reply takes it off the list by itself"
    still_open = await listed(system, "/conversations", "conversation_id", conversation_id)
    assert still_open is not None and still_open["awaiting_since"] is None and still_open["waiting_seconds"] is None


# -- an incomplete booking request -------------------------------------------------------------------
async def test_a_wechat_booking_without_its_time_is_completed_by_an_agent_and_confirmed_on_wechat(
    system: System,
) -> None:
    room = await round_the_clock_room(system)
    openid, msg_id = f"oW{uuid.uuid4().hex[:12]}", str(24800000000000000 + uuid.uuid4().int % 10**15)
    await publish(system, "wechat", wechat_text(openid, msg_id, "下周三订会议室，12个人，要投影仪"), "application/xml")
    (inquiry,) = await system.watcher.wait_for(
        lambda e: e.type == "inquiry.received" and e.data["source_ref"] == msg_id
    )
    inquiry_id = inquiry.data["inquiry_id"]
    assert inquiry.data["missing"] == ["time"]

    item = await eventually(lambda: listed(system, "/inquiries", "inquiry_id", inquiry_id, incomplete="true"))
    assert item is not None, "listed among the incomplete booking requests"
    assert (item["channel"], item["intent"], item["language"], item["missing"]) == (
        "wechat",
        "booking_request",
        "zh-Hans",
        ["time"],
    )
    draft = item["draft"]
    assert draft["attendees"] == 12 and draft["equipment"] == ["projector"] and "date" in draft
    assert item["completed_at"] is None and item["conversation_id"] == f"wechat:{openid}"

    start = datetime.fromisoformat(draft["date"]).replace(hour=15, tzinfo=HK)
    meeting = {**draft, "start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat(), "room_id": room}
    meeting.pop("date")
    done = await command(system, "inquiry.complete", {"inquiry_id": inquiry_id, "meeting": meeting})
    assert done.status_code == 200, done.text
    assert [e["type"] for e in done.json()["events"]] == ["booking.requested", "inquiry.completed"]

    (requested,) = await system.watcher.wait_for(
        lambda e: e.type == "booking.requested" and e.data["inquiry_id"] == inquiry_id
    )
    assert requested.data["agent_id"] == AGENT_PRINCIPAL
    assert requested.data["customer_id"] == inquiry.data["customer"]["customer_id"]
    assert requested.data["reply_to"] == {"channel": "wechat", "address": f"wechat:{openid}", "language": "zh-Hans"}
    assert requested.body["correlation_id"] == inquiry.body["correlation_id"], "tied to the customer's message"
    (confirmed,) = await system.watcher.wait_for(
        lambda e: e.type == "booking.confirmed" and e.data["inquiry_id"] == inquiry_id
    )
    assert confirmed.data["room_id"] == room
    (told,) = await system.watcher.wait_for(
        lambda e: (
            e.type == "notification.requested"
            and e.data["template"] == "booking.confirmed"
            and e.data["parameters"].get("inquiry_id") == inquiry_id
        )
    )
    assert (told.data["channel"], told.data["address"], told.data["language"]) == (
        "wechat",
        f"wechat:{openid}",
        "zh-Hans",
    )

    assert await listed(system, "/inquiries", "inquiry_id", inquiry_id, incomplete="true") is None
    after = await listed(system, "/inquiries", "inquiry_id", inquiry_id, intent="booking_request")
    assert after is not None and after["completed_by"] == AGENT_PRINCIPAL
    again = await command(system, "inquiry.complete", {"inquiry_id": inquiry_id, "meeting": meeting})
    assert again.status_code == 409 and "completed already" in again.json()["reason"]


# -- booking on a customer's behalf ----------------------------------------------------------------
async def test_an_agent_books_for_a_known_customer_and_the_confirmation_reaches_their_chat(system: System) -> None:
    room = unique_room()
    await system.publisher.command("rooms.upsert", room_id=room, name=room, capacity=20, equipment=["projector"])
    await system.watcher.wait_for(lambda e: e.type == "room.updated" and e.data["room_id"] == room)
    conv = 80000 + uuid.uuid4().int % 10000
    await publish(system, "chat", chatwoot(conv, conv * 10, "Hello, I would like to book a room next week."))
    (inquiry,) = await system.watcher.wait_for(
        lambda e: e.type == "inquiry.received" and e.data["conversation_id"] == f"chatwoot:{conv}"
    )
    customer_id = inquiry.data["customer"]["customer_id"]

    async def reachable() -> list[str]:
        response = await get(system, f"/customers/{customer_id}")
        return response.json()["reply_channels"] if response.status_code == 200 else []

    assert await eventually(reachable) == ["chat", "email"], "their chat first (where they last wrote), then email"

    start, end = future_slot(days=6, hour=10)
    meeting = {"name": "Planning", "start": start.isoformat(), "end": end.isoformat(), "attendees": 6, "room_id": room}
    command_id = str(uuid.uuid4())
    done = await command(
        system, "customer.book", {"command_id": command_id, "customer_id": customer_id, "meeting": meeting}
    )
    assert done.status_code == 200, done.text
    (event,) = done.json()["events"]
    inquiry_id = str(derive_uuid("customer.book", command_id))
    assert event["type"] == "booking.requested" and event["data"]["inquiry_id"] == inquiry_id
    assert (event["data"]["customer_id"], event["data"]["channel"], event["data"]["agent_id"]) == (
        customer_id,
        "chat",
        AGENT_PRINCIPAL,
    )
    assert event["data"]["reply_to"] == {"channel": "chat", "address": f"chatwoot:{conv}", "language": "en"}
    (confirmed,) = await system.watcher.wait_for(
        lambda e: e.type == "booking.confirmed" and e.data["inquiry_id"] == inquiry_id
    )
    assert (confirmed.data["room_id"], confirmed.data["customer_id"]) == (room, customer_id)
    # the booking is kept as the agent's (its survey names them)
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {system.token}"}) as http:
        kept = await http.get(f"{system.url('booking')}/bookings/{confirmed.data['booking_id']}")
    assert kept.status_code == 200 and kept.json()["agent_id"] == AGENT_PRINCIPAL, kept.text
    (told,) = await system.watcher.wait_for(
        lambda e: (
            e.type == "notification.requested"
            and e.data["template"] == "booking.confirmed"
            and e.data["parameters"].get("inquiry_id") == inquiry_id
        )
    )
    assert (told.data["channel"], told.data["address"], told.data["language"]) == ("chat", f"chatwoot:{conv}", "en")

    by_email = await command(
        system,
        "customer.book",
        {"customer_id": customer_id, "reply_channel": "email", "language": "zh-Hant",
         "meeting": {**meeting, "start": (start + timedelta(hours=3)).isoformat(),
                     "end": (end + timedelta(hours=3)).isoformat()}},
    )  # fmt: skip
    assert by_email.status_code == 200, by_email.text
    (event,) = by_email.json()["events"]
    assert event["data"]["reply_to"] == {
        "channel": "email",
        "address": f"wong.{conv}@example.hk",
        "language": "zh-Hant",
    }

    no_wechat = await command(
        system, "customer.book", {"customer_id": customer_id, "reply_channel": "wechat", "meeting": meeting}
    )
    assert no_wechat.status_code == 409 and "no address on wechat" in no_wechat.json()["reason"]
    unknown = await command(system, "customer.book", {"customer_id": str(uuid.uuid4()), "meeting": meeting})
    assert unknown.status_code == 409 and "no customer" in unknown.json()["reason"]


# -- call-backs -----------------------------------------------------------------------------------
async def test_a_missed_call_is_a_call_back_reminded_while_open_and_recorded_until_reached(system: System) -> None:
    uid = f"{int(time.time())}.{uuid.uuid4().int % 100000}"
    number = f"923{uuid.uuid4().int % 10**5:05d}"
    await publish(system, "phone", missed_call(uid, number))
    (missed,) = await system.watcher.wait_for(lambda e: e.type == "call.missed" and e.data["call_id"] == uid)
    (opened,) = await system.watcher.wait_for(lambda e: e.type == "callback.opened" and e.data["call_id"] == uid)
    callback_id = opened.data["callback_id"]

    item = await listed(system, "/callbacks", "callback_id", callback_id, status="open")
    assert item is not None
    assert await listed(system, "/conversations", "conversation_id", f"call:{uid}", awaiting="true", channel="phone")
    assert (item["call_id"], item["phone"], item["customer_id"], item["attempts"], item["status"]) == (
        uid,
        f"+852{number}",
        missed.data["customer_id"],
        0,
        "open",
    )
    missed_at = datetime.fromisoformat(item["missed_at"])
    assert datetime.fromisoformat(item["remind_at"]) == missed_at + timedelta(minutes=30)

    no_answer = await command(system, "callback.record", {"callback_id": callback_id, "outcome": "no_answer"})
    assert no_answer.status_code == 200, no_answer.text
    assert no_answer.json()["events"][0]["data"] | {"callback_id": callback_id} == {
        "callback_id": callback_id,
        "call_id": uid,
        "customer_id": missed.data["customer_id"],
        "outcome": "no_answer",
        "attempts": 1,
        "done": False,
        "actor": AGENT_PRINCIPAL,
        "note": None,
    }
    item = await listed(system, "/callbacks", "callback_id", callback_id, status="open", assignee=AGENT_PRINCIPAL)
    assert item is not None and (item["attempts"], item["last_outcome"]) == (1, "no_answer")

    try:  # left open for the configured time (30 minutes by default): the desk is reminded
        await system.move_clock(31 * 60)
        (reminder,) = await system.watcher.wait_for(
            lambda e: e.type == "callback.reminder" and e.data["callback_id"] == callback_id, timeout=15
        )
        assert reminder.data["attempts"] == 1 and reminder.data["assignee"] == AGENT_PRINCIPAL
        assert reminder.data["open_minutes"] >= 30
    finally:
        await system.reset_clock()

    reached = await command(
        system, "callback.record", {"callback_id": callback_id, "outcome": "reached", "note": "booked for Friday"}
    )
    assert reached.status_code == 200 and reached.json()["events"][0]["data"]["done"] is True
    assert await listed(system, "/callbacks", "callback_id", callback_id, status="open") is None
    call = await listed(system, "/conversations", "conversation_id", f"call:{uid}")
    assert call is not None and call["awaiting_since"] is None, "the call-back answered the missed call"
    done = await listed(system, "/callbacks", "callback_id", callback_id, status="done")
    assert done is not None and (done["attempts"], done["last_note"], done["remind_at"]) == (
        2,
        "booked for Friday",
        None,
    )
    late = await command(system, "callback.record", {"callback_id": callback_id, "outcome": "voicemail"})
    assert late.status_code == 409 and "done already" in late.json()["reason"]


# -- the customer file -----------------------------------------------------------------------------
async def test_two_records_are_linked_and_unlinked_and_the_file_shows_both_and_the_history(system: System) -> None:
    a, b, conv, openid = await chat_and_wechat_customers(system)
    assert a != b

    found = await get(system, "/customers", q=f"wong.{conv}@example.hk")
    assert found.status_code == 200
    (hit,) = found.json()["items"]
    assert hit["customer_id"] == a and {"kind": "email", "value": f"wong.{conv}@example.hk"} in hit["identities"]
    assert (await get(system, "/customers", q=openid)).json()["items"][0]["customer_id"] == b
    assert (await get(system, "/customers")).status_code == 400

    before = (await get(system, f"/customers/{b}")).json()
    linked = await command(
        system, "customer.link", {"customer_id": a, "other_customer_id": b, "reason": "same person, said on the phone"}
    )
    assert linked.status_code == 200, linked.text
    (event,) = linked.json()["events"]
    assert event["type"] == "customer.linked"
    assert event["data"]["identities"] == [{"kind": "customer_id", "value": b}]
    twice = await command(system, "customer.link", {"customer_id": b, "other_customer_id": a, "reason": "again"})
    assert twice.status_code == 409 and "linked already" in twice.json()["reason"]
    itself = await command(system, "customer.link", {"customer_id": a, "other_customer_id": a, "reason": "x"})
    assert itself.status_code == 409

    file = (await get(system, f"/customers/{a}")).json()
    assert [x["customer_id"] for x in file["linked"]] == [b]
    assert (
        file["linked"][0]["reason"] == "same person, said on the phone" and file["linked"][0]["by"] == AGENT_PRINCIPAL
    )
    assert {c["conversation_id"] for c in file["conversations"]} >= {f"chatwoot:{conv}", f"wechat:{openid}"}
    assert {i["customer_id"] for i in file["inquiries"]} == {a, b}, "each item keeps its own customer"
    assert (await get(system, "/customers", q=f"wong.{conv}@example.hk")).json()["items"][0]["linked"] == [b]

    unlinked = await command(
        system, "customer.unlink", {"customer_id": b, "other_customer_id": a, "reason": "two different people"}
    )
    assert unlinked.status_code == 200, unlinked.text
    assert unlinked.json()["events"][0]["type"] == "customer.unlinked"
    file = (await get(system, f"/customers/{a}")).json()
    assert file["linked"] == []
    assert [(h["action"], h["other_customer_id"]) for h in file["links_history"]] == [("linked", b), ("unlinked", b)]
    assert {i["customer_id"] for i in file["inquiries"]} == {a}
    after = (await get(system, f"/customers/{b}")).json()
    assert after["identities"] == before["identities"], "linking moved no identity: unlinking restores exactly"
    again = await command(system, "customer.unlink", {"customer_id": a, "other_customer_id": b, "reason": "x"})
    assert again.status_code == 409 and "not linked" in again.json()["reason"]
    assert (await get(system, f"/customers/{uuid.uuid4()}")).status_code == 404


# -- handover ----------------------------------------------------------------------------------------
async def test_a_supervisor_hands_one_agents_open_work_to_another_and_an_agent_may_not(system: System) -> None:
    leaving, taking = f"agent-{uuid.uuid4().hex[:6]}", f"agent-{uuid.uuid4().hex[:6]}"
    conv = 90000 + uuid.uuid4().int % 10000
    await publish(system, "chat", chatwoot(conv, conv * 10, "Can I bring my own projector?"))
    await eventually(lambda: listed(system, "/conversations", "conversation_id", f"chatwoot:{conv}", awaiting="true"))
    await command(system, "conversation.assign", {"conversation_id": f"chatwoot:{conv}", "agent_id": leaving})
    uid = f"{int(time.time())}.{uuid.uuid4().int % 100000}"
    await publish(system, "phone", missed_call(uid, f"641{uuid.uuid4().int % 10**5:05d}"))
    (opened,) = await system.watcher.wait_for(lambda e: e.type == "callback.opened" and e.data["call_id"] == uid)
    await command(system, "callback.assign", {"callback_id": opened.data["callback_id"], "agent_id": leaving})

    body = {"from_agent": leaving, "to_agent": taking, "reason": "end of shift"}
    forbidden = await command(system, "desk.handover", body)
    assert forbidden.status_code == 403
    handed = await command(system, "desk.handover", body, token=SUPERVISOR_TOKEN)
    assert handed.status_code == 200, handed.text
    (event,) = handed.json()["events"]
    assert event["type"] == "desk.handed_over"
    assert (event["data"]["conversations"], event["data"]["callbacks"]) == (1, 1)
    assert await listed(system, "/conversations", "conversation_id", f"chatwoot:{conv}", assignee=taking)
    assert await listed(system, "/callbacks", "callback_id", opened.data["callback_id"], assignee=taking)
    assert not await listed(system, "/conversations", "conversation_id", f"chatwoot:{conv}", assignee=leaving)


async def test_the_queues_come_a_page_at_a_time_and_a_bad_query_is_refused_with_its_reason(system: System) -> None:
    first = 95000 + uuid.uuid4().int % 4000
    for conv in (first, first + 1):
        await publish(system, "chat", chatwoot(conv, conv * 10, "Is there a lift to the second floor?"))
        await eventually(
            lambda c=conv: listed(system, "/conversations", "conversation_id", f"chatwoot:{c}", awaiting="true")
        )
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(500):
        page = await get(system, "/conversations", awaiting="true", limit=1, **({"cursor": cursor} if cursor else {}))
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        cursor = page.json()["next"]
        if not cursor:
            break
    waits = [i["awaiting_since"] for i in seen]
    assert waits == sorted(waits), "oldest wait first"
    assert {f"chatwoot:{first}", f"chatwoot:{first + 1}"} <= {i["conversation_id"] for i in seen}
    assert len({i["conversation_id"] for i in seen}) == len(seen), "no conversation twice across pages"

    assert (await get(system, "/conversations", limit=0)).status_code == 400
    assert (await get(system, "/callbacks", status="maybe")).status_code == 400
    assert (await get(system, "/inquiries", cursor="not-ours")).status_code == 400
    assert (await get(system, "/inquiries", intent="gossip")).status_code == 400
