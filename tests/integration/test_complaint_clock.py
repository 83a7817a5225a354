"""The complaint process on the clock, on the running system: a formal reply not given in time is breached
at its exact instant and escalates to the handling agent, the supervisor, then the manager; waiting for the
customer does not count; a satisfaction score of 2 reopens the complaint and 4 lets it close.

The test system runs complaints with its default policy (a normal complaint's formal reply within two
hours, a critical complaint's resolution within 24; escalation to the agent at the breach, the
supervisor 30 minutes later, the manager 60 minutes after that). A complaint's clocks start when the
customer's message reached us — an on-site entry's ``recorded_at`` — so an entry recorded hours ago
registers with its targets, and escalation steps, already (or nearly) due.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ..conftest import System
from ..system import Event
from .builders import staff_chain

pytestmark = pytest.mark.integration

FORMAL_REPLY = timedelta(hours=2)  # normal severity (an on-site entry without one)
CRITICAL_RESOLUTION = timedelta(hours=24)
TO_SUPERVISOR, TO_MANAGER = timedelta(minutes=30), timedelta(minutes=60)


def _t(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _of(complaint_id: str, event_type: str, **match: Any) -> Callable[[Event], bool]:
    return lambda e: (
        e.type == event_type
        and e.data.get("complaint_id") == complaint_id
        and all(e.data.get(k) == v for k, v in match.items())
    )


async def _onsite_complaint(
    system: System, recorded_at: datetime, *, staff_id: str, email: str, severity: str | None = None
) -> dict[str, Any]:
    entry_id = f"os-{uuid.uuid4()}"
    entry = {
        "kind": "complaint",
        "entry_id": entry_id,
        "recorded_at": recorded_at.isoformat(),
        "staff_id": staff_id,
        "booking_id": f"bk-{uuid.uuid4().hex[:8]}",
        "customer": {"name": "Ho", "email": email},
        "text": "The microphones in the ballroom failed during the keynote.",
        "category": "equipment_failure",
        "severity": severity,
    }
    await system.publisher.publish("meetdesk.inbound", "onsite", entry, message_id=entry_id)
    (inq,) = await system.watcher.wait_for(lambda e: e.type == "inquiry.received" and e.data["source_ref"] == entry_id)
    (reg,) = await system.watcher.wait_for(
        lambda e: e.type == "complaint.registered" and e.data["inquiry_id"] == inq.data["inquiry_id"]
    )
    return reg.data


async def _details(system: System, complaint_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        r = await client.get(
            f"{system.url('complaints')}/complaints/{complaint_id}",
            headers={"Authorization": f"Bearer {system.token}"},
        )
    assert r.status_code == 200, r.text
    return r.json()


async def _command(system: System, name: str, complaint_id: str, wait_for: str, **fields: Any) -> list[Event]:
    before = len(system.watcher.matching(_of(complaint_id, wait_for)))
    command_id = await system.publisher.command(name, complaint_id=complaint_id, **fields)
    rejected = system.watcher.matching(lambda e: e.type == "command.rejected" and e.data["command_id"] == command_id)
    assert rejected == [], rejected
    return await system.watcher.wait_for(_of(complaint_id, wait_for), count=before + 1)


async def test_a_formal_reply_not_given_in_time_breaches_at_its_instant_and_escalates_up_the_chain(
    system: System,
) -> None:
    people = await staff_chain(system)
    # recorded long enough ago that the breach and the first two steps are past; the manager's step is near
    lead = timedelta(seconds=12)
    recorded_at = datetime.now(UTC) - FORMAL_REPLY - TO_SUPERVISOR - TO_MANAGER + lead
    reg = await _onsite_complaint(
        system, recorded_at, staff_id=people["agent"], email=f"{uuid.uuid4().hex}@example.com"
    )
    cid = reg["complaint_id"]
    due = recorded_at + FORMAL_REPLY
    assert (_t(reg["registered_at"]), _t(reg["acknowledge_due_at"])) == (recorded_at, due)

    (breached,) = await system.watcher.wait_for(_of(cid, "complaint.clock", which="acknowledge", transition="breached"))
    assert _t(breached.data["at"]) == due, "breached at the exact instant it fell due, not when it was noticed"
    assert (breached.data["elapsed_seconds"], breached.data["target_seconds"]) == (7200.0, 7200.0)
    (warning,) = system.watcher.matching(_of(cid, "complaint.clock", which="acknowledge", transition="warning"))
    assert _t(warning.data["at"]) == recorded_at + FORMAL_REPLY * 0.75
    (sla,) = await system.watcher.wait_for(_of(cid, "complaint.sla_breached"))
    assert (sla.data["which"], _t(sla.data["due_at"])) == ("acknowledge", due)

    first_two = await system.watcher.wait_for(_of(cid, "complaint.escalated"), count=2)
    assert [(e.data["level"], e.data["role"], e.data["who"]) for e in first_two] == [
        (1, "agent", people["agent"]),
        (2, "supervisor", people["supervisor"]),
    ]
    manager_due = due + TO_SUPERVISOR + TO_MANAGER
    assert datetime.now(UTC) < manager_due, "the machine was too slow to see the manager's step come later"
    assert len(system.watcher.matching(_of(cid, "complaint.escalated"))) == 2, "the manager is not told early"
    escalations = await system.watcher.wait_for(_of(cid, "complaint.escalated"), count=3, timeout=lead.seconds + 15)
    manager = escalations[2]
    assert (manager.data["level"], manager.data["role"], manager.data["who"]) == (3, "manager", people["manager"])
    assert _t(manager.body["occurred_at"]) >= manager_due, "escalated when its delay had passed"
    assert all(_t(e.data["due_at"]) == due and e.data["which"] == "acknowledge" for e in escalations)
    assert {e.body["correlation_id"] for e in escalations} == {sla.body["correlation_id"]}

    body = await _details(system, cid)
    assert [h["action"] for h in body["history"]] == [
        "complaint.registered",
        "complaint.sla_breached",
        "complaint.escalated",
        "complaint.escalated",
        "complaint.escalated",
    ]
    steps = [(c["level"], c["who"], _t(c["at"])) for c in body["clock"] if c["transition"] == "escalated"]
    assert steps == [
        (1, people["agent"], due),
        (2, people["supervisor"], due + TO_SUPERVISOR),
        (3, people["manager"], manager_due),
    ]
    assert body["sla"]["acknowledge"]["breached"] and body["sla"]["acknowledge"]["state"] == "running"
    rows = await system.query("complaints", "SELECT kind FROM due_items WHERE key = $1", cid)
    assert "complaint.acknowledge_escalation" not in {r["kind"] for r in rows}, "the manager is the top"

    # the formal reply, late: the clock is met, the chain ends
    await _command(system, "complaint.acknowledge", cid, "complaint.status_changed")
    (met,) = await system.watcher.wait_for(_of(cid, "complaint.clock", which="acknowledge", transition="met"))
    assert met.data["elapsed_seconds"] > met.data["target_seconds"]


async def test_an_urgent_complaint_escalates_to_the_supervisor_first(system: System) -> None:
    people = await staff_chain(system)
    recorded_at = datetime.now(UTC) - timedelta(minutes=31)  # a critical formal reply is due in 30 minutes
    reg = await _onsite_complaint(
        system, recorded_at, staff_id=people["agent"], email=f"{uuid.uuid4().hex}@example.com", severity="critical"
    )
    (first,) = await system.watcher.wait_for(_of(reg["complaint_id"], "complaint.escalated"))
    assert (first.data["level"], first.data["role"], first.data["who"]) == (2, "supervisor", people["supervisor"])


async def test_waiting_for_the_customer_does_not_count(system: System) -> None:
    people = await staff_chain(system)
    email = f"{uuid.uuid4().hex}@example.com"
    lead = timedelta(seconds=15)  # the resolution of this critical complaint falls due this long from now
    recorded_at = datetime.now(UTC) - CRITICAL_RESOLUTION + lead
    reg = await _onsite_complaint(system, recorded_at, staff_id=people["agent"], email=email, severity="critical")
    cid = reg["complaint_id"]
    resolve_due = _t(reg["resolve_due_at"])
    assert resolve_due == recorded_at + CRITICAL_RESOLUTION

    await _command(system, "complaint.acknowledge", cid, "complaint.status_changed")
    await _command(system, "complaint.await_customer", cid, "complaint.clock", question="Which hall were you in?")
    (paused,) = await system.watcher.wait_for(_of(cid, "complaint.clock", which="resolve", transition="paused"))
    paused_at = _t(paused.data["at"])
    assert paused_at < resolve_due, "paused before the resolution fell due (the machine was too slow to tell)"
    assert paused.data["elapsed_seconds"] == pytest.approx((paused_at - recorded_at).total_seconds())
    (asked,) = await system.watcher.wait_for(_of_template(cid, "complaint.awaiting_customer"))
    assert (asked.data["address"], asked.data["parameters"]["question"]) == (email, "Which hall were you in?")
    rows = await system.query("complaints", "SELECT kind FROM due_items WHERE key = $1", cid)
    assert not {r["kind"] for r in rows} & {"complaint.resolve_due", "complaint.resolve_warning"}

    # long past the time the resolution would have fallen due: nothing, the clock is waiting
    await asyncio.sleep(max(0.0, (resolve_due - datetime.now(UTC)).total_seconds()) + 3)
    assert system.watcher.matching(_of(cid, "complaint.sla_breached", which="resolve")) == []
    assert (await _details(system, cid))["sla"]["resolve"]["state"] == "paused"

    # the customer writes again (the same customer, on another channel): the clock resumes
    form_id = f"wf-{uuid.uuid4()}"
    form = {
        "kind": "inquiry",
        "submission_id": form_id,
        "submitted_at": datetime.now(UTC).isoformat(),
        "customer": {"name": "Ho", "email": email},
        "subject": "Re: microphones",
        "text": "It was the Grand Ballroom, hall B. What are the next steps?",
    }
    await system.publisher.publish("meetdesk.inbound", "webform", form, message_id=form_id)
    (resumed,) = await system.watcher.wait_for(_of(cid, "complaint.clock", which="resolve", transition="resumed"))
    resumed_at = _t(resumed.data["at"])
    new_due = resolve_due + (resumed_at - paused_at)
    assert _t(resumed.data["due_at"]) == new_due, "the target moved by exactly the time it waited"
    assert resumed.data["elapsed_seconds"] == paused.data["elapsed_seconds"], "the wait did not count"

    (breach,) = await system.watcher.wait_for(
        _of(cid, "complaint.sla_breached", which="resolve"), timeout=(new_due - datetime.now(UTC)).total_seconds() + 15
    )
    assert _t(breach.data["due_at"]) == new_due
    (breached,) = system.watcher.matching(_of(cid, "complaint.clock", which="resolve", transition="breached"))
    assert (_t(breached.data["at"]), breached.data["elapsed_seconds"]) == (new_due, 86400.0)
    body = await _details(system, cid)
    assert "customer.message" in [h["action"] for h in body["history"]]


def _of_template(complaint_id: str, template: str) -> Callable[[Event], bool]:
    return lambda e: (
        e.type == "notification.requested"
        and e.data["template"] == template
        and e.data["parameters"].get("complaint_id") == complaint_id
    )


async def _survey(system: System, complaint_id: str, score: int, email: str) -> None:
    answer = {
        "subject": {"type": "complaint", "id": complaint_id},
        "score": score,
        "comment": "not fixed" if score < 3 else "fine now",
        "respondent": {"email": email},
        "response_id": f"sv-{uuid.uuid4()}",
        "submitted_at": datetime.now(UTC).isoformat(),
    }
    await system.publisher.publish("meetdesk.inbound", "survey", answer, message_id=answer["response_id"])


async def test_satisfaction_2_reopens_the_complaint_and_4_lets_it_close(system: System) -> None:
    email = f"{uuid.uuid4().hex}@example.com"
    sid = f"sat-{uuid.uuid4()}"
    form = {
        "kind": "complaint",
        "submission_id": sid,
        "submitted_at": datetime.now(UTC).isoformat(),
        "customer": {"name": "Lam", "email": email},
        "category": "catering",
        "text": "The coffee break was served an hour late.",
    }
    await system.publisher.publish("meetdesk.inbound", "webform", form, message_id=sid)
    (inq,) = await system.watcher.wait_for(lambda e: e.type == "inquiry.received" and e.data["source_ref"] == sid)
    (reg,) = await system.watcher.wait_for(
        lambda e: e.type == "complaint.registered" and e.data["inquiry_id"] == inq.data["inquiry_id"]
    )
    cid = reg.data["complaint_id"]

    async def work_through_to_resolved() -> None:
        for name in ("complaint.propose_solution", "complaint.start_execution", "complaint.resolve"):
            await _command(system, name, cid, "complaint.status_changed")

    await _command(system, "complaint.acknowledge", cid, "complaint.status_changed")
    await _command(system, "complaint.investigate", cid, "complaint.status_changed")
    await work_through_to_resolved()
    (ask,) = await system.watcher.wait_for(_of_template(cid, "complaint.satisfaction"))
    assert (ask.data["channel"], ask.data["address"]) == ("email", email)
    assert ask.data["parameters"]["survey"]["type"] == "complaint" and ask.data["parameters"]["survey"]["id"] == cid
    await system.watcher.wait_for(_of(cid, "complaint.satisfaction_requested", attempt=1))

    refused_id = await system.publisher.command("complaint.close", complaint_id=cid)
    (refused,) = await system.watcher.wait_for(
        lambda e: e.type == "command.rejected" and e.data["command_id"] == refused_id
    )
    assert "satisfaction" in refused.data["reason"]

    await _survey(system, cid, 2, email)
    (unhappy,) = await system.watcher.wait_for(_of(cid, "complaint.satisfaction_recorded"))
    assert (unhappy.data["satisfied"], unhappy.data["score"], unhappy.data["source"]) == (False, 2, "survey")
    reopened_by = _of(cid, "complaint.status_changed", **{"from": "resolved", "to": "investigating"})
    (reopened,) = await system.watcher.wait_for(reopened_by)
    assert reopened.data["actor"] == "customer"
    (restarted,) = await system.watcher.wait_for(
        _of(cid, "complaint.clock", which="resolve", transition="started", cycle=2)
    )
    assert _t(restarted.data["due_at"]) - _t(restarted.data["at"]) == timedelta(hours=72), "the full time again"

    await work_through_to_resolved()
    await _survey(system, cid, 4, email)
    await system.watcher.wait_for(_of(cid, "complaint.satisfaction_recorded"), count=2)
    await _command(system, "complaint.close", cid, "complaint.closed")

    body = await _details(system, cid)
    assert body["status"] == "closed" and body["satisfaction_score"] == 4
    actions = [h["action"] for h in body["history"]]
    assert actions.count("complaint.satisfaction") == 2 and actions.count("complaint.resolve") == 2
    reopen = next(h for h in body["history"] if h["action"] == "complaint.reopen")
    assert reopen["actor"] == "customer"
    rows = await system.query("complaints", "SELECT kind FROM due_items WHERE key = $1", cid)
    assert rows == [], "a closed complaint leaves nothing watched"


async def test_a_handover_moves_every_open_complaint_of_an_agent(system: System) -> None:
    people = await staff_chain(system)
    now = datetime.now(UTC)
    cids = [
        (await _onsite_complaint(system, now, staff_id=people["agent"], email=f"{uuid.uuid4().hex}@example.com"))[
            "complaint_id"
        ]
        for _ in range(2)
    ]
    successor = f"agent-{uuid.uuid4().hex[:6]}"
    await system.publisher.command(
        "complaint.handover", from_agent=people["agent"], to_agent=successor, reason="moved to events"
    )
    for cid in cids:
        (moved,) = await system.watcher.wait_for(_of(cid, "complaint.status_changed", agent_id=successor))
        assert moved.data["from"] == moved.data["to"] == "registered"
    rows = await system.query("complaints", "SELECT agent_id FROM complaints WHERE complaint_id::text = ANY($1)", cids)
    assert {r["agent_id"] for r in rows} == {successor}
