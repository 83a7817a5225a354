"""The complaint SLA clock on the running system: a deadline that falls due unmet is breached, once;
one met in time never is.

The test system runs complaints with its default policy (a normal complaint is acknowledged within
two hours). The clock of a complaint starts when the customer's message reached us — a web form's
``submitted_at`` — so a form submitted two hours ago is registered already due.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ..conftest import System

pytestmark = pytest.mark.integration

ACKNOWLEDGE_WITHIN = timedelta(hours=2)  # the default for a normal complaint (a web form gives no severity)


async def _complaint_submitted(system: System, submitted_at: datetime) -> dict[str, Any]:
    sid = f"sla-{uuid.uuid4()}"
    form = {
        "kind": "complaint",
        "submission_id": sid,
        "submitted_at": submitted_at.isoformat(),
        "customer": {"name": "Lee", "email": f"{sid}@example.com"},
        "category": "venue_environment",
        "text": "The air conditioning in the hall was off all afternoon.",
    }
    await system.publisher.publish("meetdesk.inbound", "webform", form, message_id=sid)
    (inq,) = await system.watcher.wait_for(lambda e: e.type == "inquiry.received" and e.data["source_ref"] == sid)
    (reg,) = await system.watcher.wait_for(
        lambda e: e.type == "complaint.registered" and e.data["inquiry_id"] == inq.data["inquiry_id"]
    )
    return reg.data


def _breaches(system: System, complaint_id: str) -> list[Any]:
    return system.watcher.matching(
        lambda e: e.type == "complaint.sla_breached" and e.data["complaint_id"] == complaint_id
    )


async def _watched(system: System, complaint_id: str) -> dict[str, datetime]:
    """The deadlines watched: the complaint's breach items (its warnings and escalation steps are due
    items too; test_complaint_clock.py follows them)."""
    rows = await system.query(
        "complaints",
        "SELECT kind, due_at FROM due_items WHERE key = $1"
        " AND kind IN ('complaint.acknowledge_due', 'complaint.resolve_due')",
        complaint_id,
    )
    return {r["kind"]: r["due_at"] for r in rows}


async def _details(system: System, complaint_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        r = await client.get(
            f"{system.url('complaints')}/complaints/{complaint_id}",
            headers={"Authorization": f"Bearer {system.token}"},
        )
    assert r.status_code == 200, r.text
    return r.json()


async def test_an_unacknowledged_complaint_past_its_deadline_is_breached_once(system: System) -> None:
    submitted_at = datetime.now(UTC) - ACKNOWLEDGE_WITHIN - timedelta(minutes=1)
    reg = await _complaint_submitted(system, submitted_at)
    cid = reg["complaint_id"]
    assert datetime.fromisoformat(reg["registered_at"]) == submitted_at, "the clock started when the customer wrote"
    ack_due = datetime.fromisoformat(reg["acknowledge_due_at"])
    assert ack_due == submitted_at + ACKNOWLEDGE_WITHIN

    (breach,) = await system.watcher.wait_for(
        lambda e: e.type == "complaint.sla_breached" and e.data["complaint_id"] == cid, timeout=20
    )
    assert breach.data["which"] == "acknowledge"
    assert datetime.fromisoformat(breach.data["due_at"]) == ack_due
    assert breach.persistent
    (registered_event,) = system.watcher.matching(
        lambda e: e.type == "complaint.registered" and e.data["complaint_id"] == cid
    )
    assert breach.body["correlation_id"] == registered_event.body["correlation_id"], "one message, one correlation"

    await asyncio.sleep(3)  # several scheduler rounds: the deadline fires once
    assert len(_breaches(system, cid)) == 1
    watched = await _watched(system, cid)
    assert watched == {"complaint.resolve_due": datetime.fromisoformat(reg["resolve_due_at"])}, (
        "the acknowledgement deadline is gone, the resolution still watched"
    )

    body = await _details(system, cid)
    assert body["status"] == "registered", "a breach does not change the status"
    actions = [h["action"] for h in body["history"]]
    assert actions == ["complaint.registered", "complaint.sla_breached", "complaint.escalated"], (
        "the breach, then the first escalation step (to the handling agent, at once)"
    )
    entry = body["history"][1]
    assert (entry["actor"], entry["from_status"], entry["to_status"]) == ("scheduler", "registered", "registered")
    assert entry["data"]["which"] == "acknowledge"
    assert datetime.fromisoformat(entry["data"]["due_at"]) == ack_due

    # acknowledged late: the complaint goes on, and nothing is breached again
    await system.publisher.command("complaint.acknowledge", complaint_id=cid, note="Apologised by phone")
    await system.watcher.wait_for(lambda e: e.type == "complaint.status_changed" and e.data["complaint_id"] == cid)
    assert len(_breaches(system, cid)) == 1


async def test_a_complaint_acknowledged_in_time_never_breaches(system: System) -> None:
    lead = timedelta(seconds=8)  # its acknowledgement falls due this long after it is submitted
    submitted_at = datetime.now(UTC) - ACKNOWLEDGE_WITHIN + lead
    reg = await _complaint_submitted(system, submitted_at)
    cid = reg["complaint_id"]
    ack_due = datetime.fromisoformat(reg["acknowledge_due_at"])
    assert set(await _watched(system, cid)) == {"complaint.acknowledge_due", "complaint.resolve_due"}

    await system.publisher.command("complaint.acknowledge", complaint_id=cid)
    (changed,) = await system.watcher.wait_for(
        lambda e: e.type == "complaint.status_changed" and e.data["complaint_id"] == cid
    )
    assert changed.data["to"] == "acknowledged"
    assert datetime.now(UTC) < ack_due, "acknowledged before the deadline (the machine was too slow to tell)"
    assert set(await _watched(system, cid)) == {"complaint.resolve_due"}, "the acknowledgement deadline is cancelled"

    # wait until well past the deadline: nothing falls due, nothing is breached
    await asyncio.sleep(max(0.0, (ack_due - datetime.now(UTC)).total_seconds()) + 3)
    assert _breaches(system, cid) == []
    body = await _details(system, cid)
    assert [h["action"] for h in body["history"]] == ["complaint.registered", "complaint.acknowledge"]
