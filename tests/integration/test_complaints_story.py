"""The whole complaint story on the running system, time moved through every service's clock: a complaint
by Big5 email → the automatic receipt → the formal reply at 1 h 59 min (met, no breach) → the
investigation → a plan the customer agrees to → resolved → a survey score of 2 reopens it → resolved
again → a score of 4 → closed with its case → the case found by a Simplified-Chinese search."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from ..conftest import System
from .test_complaints_http import _command, _http, _of
from .test_intake import email_bytes, inquiry_of, publish

pytestmark = pytest.mark.integration


@pytest.fixture
async def clock(system: System) -> AsyncIterator[System]:
    """The system, its clock put back where it was after the test, whatever happens."""
    try:
        yield system
    finally:
        await system.reset_clock()


async def _move_to(system: System, at: datetime) -> None:
    await system.move_clock((at - system.now()).total_seconds())


async def _survey(system: System, complaint_id: str, score: int, email: str) -> None:
    answer = {
        "subject": {"type": "complaint", "id": complaint_id},
        "score": score,
        "comment": "還是很熱" if score < 3 else "已解決",
        "respondent": {"email": email},
        "response_id": f"sv-{uuid.uuid4()}",
        "submitted_at": system.now().isoformat(),
    }
    await system.publisher.publish("meetdesk.inbound", "survey", answer, message_id=answer["response_id"])


async def test_a_big5_email_complaint_goes_from_receipt_to_a_case_found_in_simplified_chinese(clock: System) -> None:
    system = clock
    tag = uuid.uuid4().hex[:8]
    email = f"chan.{tag}@example.com"
    raw, mid = email_bytes(
        sender=f"陳大文 <{email}>",
        subject="投訴：會議室冷氣壞了",
        body=f"今天下午在{tag}號會議室開董事會，冷氣壞了，非常熱，我們很不滿意，要求解釋。",
        charset="big5",
        date=system.now(),
    )
    await publish(system, "email", raw, "message/rfc822")
    (inq,) = await inquiry_of(system, mid)
    assert (inq.data["intent"], inq.data["language"]) == ("complaint", "zh-Hant")
    (reg,) = await system.watcher.wait_for(
        lambda e: e.type == "complaint.registered" and e.data["inquiry_id"] == inq.data["inquiry_id"]
    )
    cid = reg.data["complaint_id"]
    registered_at = datetime.fromisoformat(reg.data["registered_at"])
    assert reg.data["service_step"] == "on_site"  # 冷氣
    (receipt,) = await system.watcher.wait_for(
        lambda e: (
            e.type == "notification.requested"
            and e.data["template"] == "complaint.received"
            and e.data["parameters"].get("complaint_id") == cid
        )
    )
    assert (receipt.data["channel"], receipt.data["address"], receipt.data["language"]) == ("email", email, "zh-Hant")

    async def ok(name: str, **fields: Any) -> dict[str, Any]:
        r = await _command(system, name, complaint_id=cid, actor="agent-story", **fields)
        assert r.status_code == 200 and r.json()["outcome"] == "done", (name, r.text)
        return r.json()

    # the formal reply at 1 h 59 min: met within its 2 hours, never breached
    await _move_to(system, registered_at + timedelta(hours=1, minutes=59))
    await ok("complaint.acknowledge", note="已致電客人致歉並確認細節")
    (met,) = await system.watcher.wait_for(
        lambda e: (
            e.type == "complaint.clock"
            and e.data["complaint_id"] == cid
            and (e.data["which"], e.data["transition"]) == ("acknowledge", "met")
        )
    )
    assert 119 * 60 <= met.data["elapsed_seconds"] <= met.data["target_seconds"]

    # the investigation and the plan, agreed
    await ok("complaint.investigate", root_cause="equipment_failure", department="facilities", evidence=["報修單-17"])
    due = system.now() + timedelta(hours=4)
    await ok(
        "complaint.propose_solution", actions=[{"remedy": "apology", "owner": "agent-story", "due_at": due.isoformat()}]
    )
    await ok("complaint.plan_agreement", agreed=True)
    await ok("complaint.start_execution")
    await ok("complaint.action_done", action_id="a1")
    await ok("complaint.resolve", resolution="已修理冷氣")

    # the customer is not satisfied: a score of 2 reopens it at once
    await _survey(system, cid, 2, email)
    await system.watcher.wait_for(
        lambda e: (
            e.type == "complaint.status_changed"
            and e.data["complaint_id"] == cid
            and (e.data["from"], e.data["to"]) == ("resolved", "investigating")
        )
    )
    refund = (system.now() + timedelta(days=1)).isoformat()
    await ok(
        "complaint.propose_solution",
        actions=[{"remedy": "partial_refund", "owner": "finance", "due_at": refund, "amount": 500}],
    )
    await ok("complaint.plan_agreement", agreed=True)
    await ok("complaint.start_execution")
    await ok("complaint.action_done", action_id="a2")
    await ok("complaint.resolve", resolution="冷氣機已更換並退款")
    await _survey(system, cid, 4, email)
    await system.watcher.wait_for(
        lambda e: e.type == "complaint.satisfaction_recorded" and e.data["complaint_id"] == cid and e.data["satisfied"]
    )
    case = {
        "problem": f"{tag}號會議室冷氣失靈，董事會期間過熱",
        "cause": "冷氣機老化，保養未能及時發現",
        "solution": "致歉、修理、再更換冷氣機並部分退款",
        "outcome": "第二次解決後客人滿意（4 分）",
        "lesson": "大型會議前一天檢查冷氣",
    }
    await ok("complaint.close", case=case)
    await system.watcher.wait_for(_of(cid, "complaint.closed"))

    found = (await _http(system, "GET", "/cases", params={"q": f"冷气 {tag}"})).json()
    assert [c["complaint_id"] for c in found] == [cid]
    assert (found[0]["root_cause"], found[0]["service_step"]) == ("equipment_failure", "on_site")
    details = (await _http(system, "GET", f"/complaints/{cid}")).json()
    assert details["status"] == "closed" and details["satisfaction_score"] == 4
    assert not [h for h in details["history"] if h["action"] == "complaint.sla_breached"]
