"""Agents' HTTP entry points of complaints, on the running system: every command posted with its command
id (the outcome, or the refusal with 409; a repeated command id has no second effect), an agent's lists
(mine, overdue, due within N minutes, by severity, customer and booking; the most severe and soonest due
first) and one complaint with its history, clock and escalations."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from ..conftest import System
from ..system import Event
from .test_booking_lifecycle import _ask, _room

pytestmark = pytest.mark.integration


def _of(complaint_id: str, event_type: str) -> Callable[[Event], bool]:
    return lambda e: e.type == event_type and e.data.get("complaint_id") == complaint_id


async def _http(system: System, method: str, path: str, *, token: str | None = None, **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.request(
            method,
            system.url("complaints") + path,
            headers={"Authorization": f"Bearer {token or system.token}"},
            **kw,
        )


async def _command(system: System, command: str, command_id: str | None = None, /, **fields: Any) -> httpx.Response:
    body = {"command_id": command_id or str(uuid.uuid4()), "actor": fields.pop("actor", "sup-http"), **fields}
    return await _http(system, "POST", f"/commands/{command}", json=body)


async def _register(
    system: System, recorded_at: datetime, *, customer_email: str, booking_id: str, severity: str | None
) -> dict[str, Any]:
    entry_id = f"os-{uuid.uuid4()}"
    entry = {
        "kind": "complaint",
        "entry_id": entry_id,
        "recorded_at": recorded_at.isoformat(),
        "staff_id": "front-desk",
        "booking_id": booking_id,
        "customer": {"name": "Ho", "email": customer_email},
        "text": "The projector in room 3 did not work.",
        "category": "equipment_failure",
        "severity": severity,
    }
    await system.publisher.publish("meetdesk.inbound", "onsite", entry, message_id=entry_id)
    (inq,) = await system.watcher.wait_for(lambda e: e.type == "inquiry.received" and e.data["source_ref"] == entry_id)
    (reg,) = await system.watcher.wait_for(
        lambda e: e.type == "complaint.registered" and e.data["inquiry_id"] == inq.data["inquiry_id"]
    )
    return reg.data


async def test_agents_post_every_command_over_http_and_list_their_complaints_by_severity_and_due_time(
    system: System,
) -> None:
    tag = uuid.uuid4().hex[:8]
    agent, supervisor, manager = f"agent-{tag}", f"sup-{tag}", f"mgr-{tag}"
    # the staff directory over HTTP too
    for staff_id, role, reports_to in ((manager, "manager", None), (supervisor, "supervisor", manager)):
        made = await _command(system, "staff.upsert", staff_id=staff_id, name=role, role=role, supervisor_id=reports_to)
        assert made.status_code == 200 and made.json()["outcome"] == "done", made.text
    made = await _command(system, "staff.upsert", staff_id=agent, name="agent", role="agent", supervisor_id=supervisor)
    assert made.status_code == 200, made.text

    email = f"{tag}@example.com"
    now = datetime.now(UTC)
    # a critical complaint recorded 3 hours ago: its formal reply (30 min) breached, escalated to the manager
    late = await _register(
        system, now - timedelta(hours=3), customer_email=email, booking_id=f"bk-{tag}-1", severity="critical"
    )
    # a normal one just now (formal reply in 2 hours), and a low one (formal reply in 2 hours too)
    fresh = await _register(system, now, customer_email=email, booking_id=f"bk-{tag}-2", severity=None)
    low = await _register(system, now, customer_email=email, booking_id=f"bk-{tag}-3", severity="low")
    ids = [late["complaint_id"], fresh["complaint_id"], low["complaint_id"]]
    for cid in (ids[2], ids[0], ids[1]):
        assigned = await _command(system, "complaint.assign", complaint_id=cid, agent_id=agent)
        assert assigned.status_code == 200 and assigned.json()["outcome"] == "done", assigned.text
    await system.watcher.wait_for(lambda e: e.type == "complaint.escalated" and e.data["complaint_id"] == ids[0])

    # the formal reply over HTTP: what it emitted; the same command id again is answered, not applied, again
    ack_id = str(uuid.uuid4())
    first = await _command(system, "complaint.acknowledge", ack_id, complaint_id=ids[1], actor=agent)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["outcome"], body["repeated"]) == ("done", False)
    emitted = [e["type"] for e in body["events"]]
    assert "complaint.status_changed" in emitted and "notification.requested" in emitted
    again = await _command(system, "complaint.acknowledge", ack_id, complaint_id=ids[1], actor=agent)
    assert again.status_code == 200 and again.json() == {**body, "repeated": True}
    # a command that does not fit: 409 with the reason, and command.rejected as from the queue
    refused_id = str(uuid.uuid4())
    refused = await _command(system, "complaint.acknowledge", refused_id, complaint_id=ids[1], actor=agent)
    assert refused.status_code == 409 and refused.json()["reason"] == "the complaint is already acknowledged"
    await system.watcher.wait_for(lambda e: e.type == "command.rejected" and e.data["command_id"] == refused_id)
    # a command that came over the queue first is not applied again over HTTP
    queued = await system.publisher.command("complaint.note", complaint_id=ids[2], note="called the customer")
    for _ in range(100):
        if await system.query("complaints", "SELECT 1 FROM complaint_history WHERE data->>'command_id' = $1", queued):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the note sent over the queue was not recorded")
    late_answer = await _command(system, "complaint.note", queued, complaint_id=ids[2], note="called the customer")
    assert late_answer.json() == {
        "command_id": queued,
        "command": "complaint.note",
        "outcome": "already_applied",
        "repeated": True,
    }
    # unknown, invalid, unauthorised
    assert (await _command(system, "complaint.nothing", complaint_id=ids[1])).status_code == 404
    assert (await _command(system, "complaint.confirm_satisfaction", complaint_id=ids[1], score=9)).status_code == 422
    unauthorised = await _http(system, "POST", "/commands/complaint.note", token="wrong", json={})
    assert unauthorised.status_code == 401

    history = await system.query(
        "complaints",
        "SELECT count(*) AS n FROM complaint_history WHERE complaint_id = $1 AND action = 'complaint.acknowledge'",
        uuid.UUID(ids[1]),
    )
    assert history[0]["n"] == 1, "a repeated command id is not applied again"

    # mine: the most severe first, then the soonest due (the normal one is acknowledged: due at its resolution)
    mine = (await _http(system, "GET", "/complaints", params={"assignee": agent})).json()
    assert [c["complaint_id"] for c in mine] == ids
    assert [c["overdue"] for c in mine] == [True, False, False]
    assert datetime.fromisoformat(mine[1]["due_at"]) > datetime.fromisoformat(mine[2]["due_at"])
    overdue = (await _http(system, "GET", "/complaints", params={"assignee": agent, "overdue": "true"})).json()
    assert [c["complaint_id"] for c in overdue] == [ids[0]]
    # due within 3 hours: the low one's formal reply (2 h) and the overdue one; not the normal one's resolution
    soon = (await _http(system, "GET", "/complaints", params={"assignee": agent, "due_within": 180})).json()
    assert [c["complaint_id"] for c in soon] == [ids[0], ids[2]]
    by_severity = (await _http(system, "GET", "/complaints", params={"assignee": agent, "severity": "low"})).json()
    assert [c["complaint_id"] for c in by_severity] == [ids[2]]
    by_customer = (await _http(system, "GET", "/complaints", params={"customer_id": late["customer_id"]})).json()
    assert [c["complaint_id"] for c in by_customer] == ids
    by_booking = (await _http(system, "GET", "/complaints", params={"booking_id": f"bk-{tag}-2"})).json()
    assert [c["complaint_id"] for c in by_booking] == [ids[1]]
    bad = await _http(system, "GET", "/complaints", params={"due_within": "soon"})
    assert bad.status_code == 400

    # one complaint: its history, its clock, its escalations, where it stands
    details = (await _http(system, "GET", f"/complaints/{ids[0]}")).json()
    assert [h["action"] for h in details["history"]][:2] == ["complaint.registered", "complaint.sla_breached"]
    assert ("acknowledge", "breached") in {(c["which"], c["transition"]) for c in details["clock"]}
    levels = [e["level"] for e in details["escalations"] if e["transition"] == "escalated"]
    assert levels[0] == 2  # critical: from the supervisor (re-armed steps are listed too)
    assert details["overdue"] is True and details["sla"]["acknowledge"]["breached"] is True


async def test_the_investigation_and_the_plan_over_http_an_action_not_done_in_time_falls_overdue_once(
    system: System,
) -> None:
    tag = uuid.uuid4().hex[:8]
    reg = await _register(
        system, system.now(), customer_email=f"{tag}@example.com", booking_id=f"bk-{tag}", severity="high"
    )
    cid = reg["complaint_id"]

    async def ok(name: str, **fields: Any) -> dict[str, Any]:
        r = await _command(system, name, complaint_id=cid, **fields)
        assert r.status_code == 200 and r.json()["outcome"] == "done", (name, r.text)
        return r.json()

    await ok("complaint.acknowledge")
    await ok("complaint.investigate", root_cause="equipment_failure", department="AV", evidence=["cctv-12"])
    await ok("complaint.investigate", evidence=["ticket-88"])  # findings added while investigating
    refused = await _command(system, "complaint.investigate", complaint_id=cid, root_cause="bad luck")
    assert refused.status_code == 422
    due = system.now() + timedelta(seconds=3)
    later = system.now() + timedelta(days=2)
    plan = [
        {"remedy": "apology", "owner": "agent-http", "due_at": due.isoformat()},
        {"remedy": "partial_refund", "owner": "finance-2", "due_at": later.isoformat(), "amount": 800},
    ]
    proposed = await ok("complaint.propose_solution", actions=plan)
    (notice,) = [e for e in proposed["events"] if e["type"] == "notification.requested"]
    assert [a["remedy"] for a in notice["data"]["parameters"]["actions"]] == ["apology", "partial_refund"]
    await ok("complaint.plan_agreement", agreed=True)

    # the apology is not done in time: overdue once, through the scheduler
    (overdue,) = await system.watcher.wait_for(_of(cid, "complaint.action_overdue"), timeout=20)
    assert (overdue.data["action_id"], overdue.data["owner"]) == ("a1", "agent-http")
    await ok("complaint.start_execution")
    done = await ok("complaint.action_done", action_id="a1")
    assert done["events"][0]["data"]["template"] == "complaint.action_done"
    early = await _command(system, "complaint.resolve", complaint_id=cid)
    assert early.status_code == 409 and "a2 (partial_refund, finance-2" in early.json()["reason"]
    await ok("complaint.action_done", action_id="a2")
    await ok("complaint.resolve", resolution="projector replaced, apology made, 800 refunded")
    await asyncio.sleep(1.5)
    assert len(system.watcher.matching(_of(cid, "complaint.action_overdue"))) == 1

    details = (await _http(system, "GET", f"/complaints/{cid}")).json()
    assert (details["root_cause"], details["responsible_department"], details["evidence"]) == (
        "equipment_failure",
        "AV",
        ["cctv-12", "ticket-88"],
    )
    assert details["plan_agreed"] is True
    assert [(a["action_id"], a["overdue_at"] is not None, a["done_at"] is not None) for a in details["actions"]] == [
        ("a1", True, True),
        ("a2", False, True),
    ]
    actions = [h["action"] for h in details["history"]]
    for step in ("complaint.action_overdue", "complaint.plan_agreement", "complaint.action_done"):
        assert step in actions


async def test_registration_estimates_severity_and_service_step_and_finds_the_customers_meeting_and_room(
    system: System,
) -> None:
    tag = uuid.uuid4().hex[:8]
    email = f"{tag}@example.com"
    first = await _register(system, system.now(), customer_email=email, booking_id=f"bk-{tag}", severity="low")
    customer = first["customer_id"]
    assert first["severity_source"] == "given"
    # the customer's meeting, booked through booking; complaints learns it from booking.confirmed
    room = await _room(system)
    _, confirmed = await _ask(system, room, system.now() + timedelta(minutes=10), customer=customer)
    assert confirmed.type == "booking.confirmed", confirmed.data
    booking_id = confirmed.data["booking_id"]
    for _ in range(100):
        if await system.query("complaints", "SELECT 1 FROM booking_view WHERE booking_id = $1", booking_id):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("complaints did not learn the booking")

    # a complaint naming no booking and no severity: the meeting found, the severity estimated from the text
    entry_id = f"web-{uuid.uuid4()}"
    form = {
        "kind": "complaint",
        "submission_id": entry_id,
        "submitted_at": system.now().isoformat(),
        "customer": {"name": "Ho", "email": email},
        "text": "A guest was injured by the projector stand that fell over.",
    }
    await system.publisher.publish("meetdesk.inbound", "webform", form, message_id=entry_id)
    (inq,) = await system.watcher.wait_for(lambda e: e.type == "inquiry.received" and e.data["source_ref"] == entry_id)
    (reg,) = await system.watcher.wait_for(
        lambda e: e.type == "complaint.registered" and e.data["inquiry_id"] == inq.data["inquiry_id"]
    )
    assert (reg.data["booking_id"], reg.data["room_id"], reg.data["service_step"]) == (booking_id, room, "av")
    assert (reg.data["severity"], reg.data["severity_source"]) == ("critical", "estimated")
    assert "injured" in reg.data["severity_reason"]

    details = (await _http(system, "GET", f"/complaints/{reg.data['complaint_id']}")).json()
    assert (details["booking_link"], details["room_id"], details["service_step"]) == ("inferred", room, "av")
    assert details["severity_reason"] == reg.data["severity_reason"]
    registered = details["history"][0]["data"]
    assert registered["booking"]["how"] == "inferred" and registered["severity"]["source"] == "estimated"
    by_room = (await _http(system, "GET", "/complaints", params={"room_id": room, "service_step": "av"})).json()
    assert [c["complaint_id"] for c in by_room] == [reg.data["complaint_id"]]


async def _webform_complaint(system: System, email: str, text: str) -> dict[str, Any]:
    submission = f"web-{uuid.uuid4()}"
    form = {
        "kind": "complaint",
        "submission_id": submission,
        "submitted_at": system.now().isoformat(),
        "customer": {"name": "陳", "email": email},
        "category": "venue_environment",
        "text": text,
    }
    await system.publisher.publish("meetdesk.inbound", "webform", form, message_id=submission)
    (inq,) = await system.watcher.wait_for(
        lambda e: e.type == "inquiry.received" and e.data["source_ref"] == submission
    )
    (reg,) = await system.watcher.wait_for(
        lambda e: e.type == "complaint.registered" and e.data["inquiry_id"] == inq.data["inquiry_id"]
    )
    return reg.data


async def test_a_closed_complaints_case_is_found_across_scripts_and_recurring_problems_are_reviewed(
    system: System,
) -> None:
    tag = uuid.uuid4().hex[:8]
    cids = []
    for n in range(2):
        reg = await _webform_complaint(system, f"{tag}-{n}@example.com", f"會議室{tag}的冷氣壞了,太熱")
        cid = reg["complaint_id"]
        cids.append(cid)
        steps: list[tuple[str, dict[str, Any]]] = [
            ("complaint.acknowledge", {}),
            ("complaint.investigate", {"root_cause": "process_gap", "department": "facilities"}),
            ("complaint.propose_solution", {}),
            ("complaint.start_execution", {}),
            ("complaint.resolve", {"resolution": "冷氣已修好"}),
            ("complaint.confirm_satisfaction", {"score": 4}),
        ]
        for name, fields in steps:
            r = await _command(system, name, complaint_id=cid, **fields)
            assert r.status_code == 200, (name, r.text)
    # the first written up at closing, in Traditional Chinese; the second afterwards, in Simplified
    case = {
        "problem": f"會議室{tag}冷氣失靈",
        "cause": "冷氣保養排期遺漏",
        "solution": "即日維修並致歉",
        "outcome": "客人滿意",
        "lesson": "保養排期要有提醒",
    }
    closed = await _command(system, "complaint.close", complaint_id=cids[0], case=case)
    assert closed.status_code == 200, closed.text
    assert (await _command(system, "complaint.close", complaint_id=cids[1])).status_code == 200
    simplified = {
        "problem": f"会议室{tag}空调噪音",
        "cause": "空调安装不当",
        "solution": "重新安装",
        "outcome": "客人满意",
        "lesson": "安装前检查",
    }
    written = await _command(system, "complaint.record_case", complaint_id=cids[1], case=simplified)
    assert written.status_code == 200, written.text

    found = (await _http(system, "GET", "/cases", params={"q": f"冷气 {tag}"})).json()
    assert [c["complaint_id"] for c in found] == [cids[0]], "a Simplified query finds the Traditional case"
    found = (await _http(system, "GET", "/cases", params={"q": f"空調 {tag}"})).json()
    assert [c["complaint_id"] for c in found] == [cids[1]], "a Traditional query finds the Simplified case"
    both = (
        await _http(system, "GET", "/cases", params={"q": tag, "root_cause": "process_gap", "service_step": "on_site"})
    ).json()
    assert {c["complaint_id"] for c in both} == set(cids)
    assert both[0]["lesson"] and both[0]["category"] == "venue_environment"
    none = (await _http(system, "GET", "/cases", params={"q": tag, "root_cause": "staff_error"})).json()
    assert none == []
    assert (await _http(system, "GET", "/cases", params={"root_cause": "bad luck"})).status_code == 400

    month = system.now().astimezone(ZoneInfo("Asia/Hong_Kong")).strftime("%Y-%m")
    review = (await _http(system, "GET", "/review", params={"month": month})).json()
    groups = [g for g in review["recurring"] if set(cids) <= set(g["complaint_ids"])]
    assert len(groups) == 1
    assert (groups[0]["category"], groups[0]["root_cause"], groups[0]["service_step"]) == (
        "venue_environment",
        "process_gap",
        "on_site",
    )
