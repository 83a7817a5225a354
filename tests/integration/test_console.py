"""The console in a real headless browser (Debian's ``chromium``, tests/browser.py) against the running
system: the four services of the ``system`` fixture and the console itself as real processes
(``uvicorn services.console.main:app``), signed in with the agent's and the supervisor's tokens. Each
test saves screenshots to ``$MEETDESK_TEST_ARTIFACTS`` (default: the temp dir's ``meetdesk-artifacts``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from ..browser import Browser, Page
from ..conftest import System
from ..system import (
    AGENT_PRINCIPAL,
    AGENT_TOKEN,
    API_TOKEN,
    PORT_BASE,
    PORTS,
    ROLE_TOKENS,
    ROOT,
    SUPERVISOR_PRINCIPAL,
    SUPERVISOR_TOKEN,
)
from .builders import (
    HK,
    chat_and_wechat_customers,
    chatwoot,
    missed_call,
    publish,
    round_the_clock_room,
    staff_chain,
    unique_room,
    wechat_text,
)

pytestmark = pytest.mark.integration

CONSOLE_PORT = PORT_BASE + 5
CONSOLE = f"http://127.0.0.1:{CONSOLE_PORT}"


@pytest.fixture(scope="module")
def console(system: System, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The console as a real process in front of the running system; its address."""
    log = tmp_path_factory.mktemp("console") / "console.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETDESK_")}
    env.update(
        MEETDESK_API_TOKEN=API_TOKEN,
        MEETDESK_API_TOKENS=json.dumps(ROLE_TOKENS),
        MEETDESK_POLL_SECONDS="2",
        MEETDESK_PAGE_SIZE="2",  # every queue longer than two is read page after page
        PYTHONUNBUFFERED="1",
        **{f"MEETDESK_{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in PORTS.items()},
    )
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "services.console.main:app", "--host", "127.0.0.1",
             "--port", str(CONSOLE_PORT)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"the console exited:\n{log.read_text()[-3000:]}"
            try:
                if httpx.get(CONSOLE + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"the console is not ready:\n{log.read_text()[-3000:]}"
            time.sleep(0.2)
        yield CONSOLE
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        logged = log.read_text() if log.exists() else ""
        assert "Traceback" not in logged, logged[-3000:]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with Browser.launch() as b:
        yield b


async def signed_in(browser: Browser, console: str, token: str, principal: str) -> Page:
    page = await browser.new_page()
    await page.goto(console + "/")
    await page.wait_until("document.body.dataset.ready === 'true'")
    await page.fill("[data-test=signin-token]", token)
    await page.click("[data-test=signin-submit]")
    await page.wait_for("[data-test=me]", text=principal)
    return page


async def show(page: Page, view: str, scope: str | None = None) -> None:
    if scope is not None:
        await page.fill("[data-test=scope]", scope)
    await page.click(f"[data-test=nav-{view}]")
    await page.wait_until(f"document.body.dataset.loaded === {json.dumps(view)}")


async def register_complaint(system: System, text: str) -> str:
    """A complaint recorded at the front desk (``onsite``), as the desk's tool publishes it; its id."""
    entry_id = f"os-{uuid.uuid4()}"
    entry = {
        "kind": "complaint",
        "entry_id": entry_id,
        "recorded_at": datetime.now(UTC).isoformat(),
        "staff_id": "front-desk",
        "booking_id": str(uuid.uuid4()),  # a booking booking does not know: the complaint stands on its own
        "customer": {"name": "何小姐", "email": f"{uuid.uuid4().hex[:8]}@example.com"},
        "text": text,
        "category": "equipment_failure",
        "severity": None,
    }
    await system.publisher.publish("meetdesk.inbound", "onsite", entry, message_id=entry_id)
    (inq,) = await system.watcher.wait_for(lambda e: e.type == "inquiry.received" and e.data["source_ref"] == entry_id)
    (reg,) = await system.watcher.wait_for(
        lambda e: e.type == "complaint.registered" and e.data["inquiry_id"] == inq.data["inquiry_id"]
    )
    return str(reg.data["complaint_id"])


async def service_get(system: System, service: str, path: str, token: str = AGENT_TOKEN) -> Any:
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.get(system.url(service) + path, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_complaint_due_soon_appears_in_the_console_and_is_acknowledged_there_before_its_deadline(
    system: System, console: str, browser: Browser
) -> None:
    page = await signed_in(browser, console, AGENT_TOKEN, AGENT_PRINCIPAL)
    await show(page, "complaints", scope="all")
    await page.screenshot("console-complaints-before")

    text = f"會議室投影機壞了，會議延誤 {uuid.uuid4().hex[:6]}"
    complaint_id = await register_complaint(system, text)
    row = f"[data-test=complaints-due-soon] [data-test=complaint-row][data-id='{complaint_id}']"
    await page.wait_for(row, timeout=20)  # new work appears without reloading (the page polls)
    assert await page.evaluate(f"document.querySelector({json.dumps(row)}).dataset.new") == "true"
    clock = await page.text(row + " [data-test=complaint-clock]")
    assert clock and "overdue" not in clock and clock.count(":") == 2, clock  # counting down hh:mm:ss
    await page.screenshot("console-complaint-due-soon")

    await page.click(row + " [data-test=complaint-open]")
    await page.wait_for(f"[data-test=complaint-detail][data-id='{complaint_id}']")
    await page.fill("[data-test=complaint-note]", "已致電客戶，技術員正前往會議室")
    await page.click("[data-test=complaint-step-acknowledge]")
    await page.wait_until("document.querySelector('[data-test=status]').dataset.kind === 'ok'")
    await page.wait_for(f"[data-test=complaint-detail][data-id='{complaint_id}'][data-status=acknowledged]")
    await page.screenshot("console-complaint-acknowledged")

    found = await service_get(system, "complaints", f"/complaints/{complaint_id}")
    assert found["status"] == "acknowledged"
    assert datetime.fromisoformat(found["acknowledged_at"]) < datetime.fromisoformat(found["acknowledge_due_at"])
    (step,) = [h for h in found["history"] if h["to_status"] == "acknowledged"]
    assert step["actor"] == AGENT_PRINCIPAL and step["note"] == "已致電客戶，技術員正前往會議室"
    assert page.errors == []


async def open_complaint(page: Page, complaint_id: str) -> tuple[str, Callable[..., Awaitable[None]]]:
    """The complaint opened from the team's list: its detail's selector, and ``take(step, status, **fields)``
    that fills the fields, takes the step and waits for the status it leads to."""
    await show(page, "complaints", scope="all")
    row = f"[data-test=complaint-row][data-id='{complaint_id}']"
    await page.wait_for(row, timeout=20)
    await page.click(row + " [data-test=complaint-open]")
    detail = f"[data-test=complaint-detail][data-id='{complaint_id}']"

    async def take(step: str, status: str, **fields: str) -> None:
        await page.wait_for(detail)
        for test, value in fields.items():
            await page.fill(f"{detail} [data-test={test}]", value)
        await page.click(f"{detail} [data-test={step}]")
        await page.wait_for(f"{detail}[data-status={status}]", timeout=15)

    return detail, take


async def test_every_step_of_a_complaint_is_taken_from_the_console_up_to_its_resolution(
    system: System, console: str, browser: Browser
) -> None:
    complaint_id = await register_complaint(system, f"The coffee was cold and late {uuid.uuid4().hex[:6]}")
    page = await signed_in(browser, console, AGENT_TOKEN, AGENT_PRINCIPAL)
    detail, take = await open_complaint(page, complaint_id)

    await take("complaint-step-acknowledge", "acknowledged", **{"complaint-note": "收到，正在跟進"})
    await take("complaint-step-investigate", "investigating", **{"complaint-root-cause": "third_party"})
    await take("complaint-step-propose_solution", "solution_proposed", **{"complaint-remedy": "apology"})
    await take("complaint-step-start_execution", "in_progress")
    await page.wait_for(f"{detail} [data-test=complaint-action-done]")
    await page.click(f"{detail} [data-test=complaint-action-done]")
    await page.wait_until(f"!document.querySelector({json.dumps(detail + ' [data-test=complaint-action-done]')})")
    await take("complaint-step-resolve", "resolved", **{"complaint-resolution": "Apologised; a fresh pot was served"})
    await page.screenshot("console-complaint-resolved")

    found = await service_get(system, "complaints", f"/complaints/{complaint_id}")
    assert found["status"] == "resolved"
    steps = [h["action"] for h in found["history"] if h["actor"] == AGENT_PRINCIPAL]
    assert steps[:1] == ["complaint.acknowledge"] and "complaint.resolve" in steps
    assert found["root_cause"] == "third_party"
    assert all(a.get("done_at") for a in found["actions"])
    assert page.errors == []


async def test_a_complaints_plan_is_revised_in_the_console_and_its_case_recorded_once_it_is_closed(
    system: System, console: str, browser: Browser
) -> None:
    complaint_id = await register_complaint(system, f"The projector failed twice {uuid.uuid4().hex[:6]}")
    page = await signed_in(browser, console, AGENT_TOKEN, AGENT_PRINCIPAL)
    detail, take = await open_complaint(page, complaint_id)

    await take("complaint-step-acknowledge", "acknowledged")
    await take("complaint-step-investigate", "investigating", **{"complaint-root-cause": "equipment"})
    await take("complaint-step-propose_solution", "solution_proposed", **{"complaint-remedy": "apology"})
    first = f"{detail} [data-test=complaint-action][data-state=open]"
    await page.wait_for(first)
    first_id = await page.evaluate(f"document.querySelector({json.dumps(first)}).dataset.id")

    # revised: a partial refund added, the apology dropped
    await page.fill(f"{detail} [data-test=complaint-remedy]", "partial_refund")
    await page.fill(f"{detail} [data-test=complaint-action-description]", "Refund the projector hire")
    await page.fill(f"{detail} [data-test=complaint-note]", "客戶要求退回投影機費用")
    await page.click(f"{detail} [data-test=complaint-step-plan]")
    added = f"{detail} [data-test=complaint-action][data-state=open]:not([data-id='{first_id}'])"
    await page.wait_for(added, timeout=15)
    await page.click(f"{detail} [data-test=complaint-action][data-id='{first_id}'] [data-test=complaint-action-drop]")
    await page.wait_for(f"{detail} [data-test=complaint-action][data-id='{first_id}'][data-state=dropped]", timeout=15)
    await page.screenshot("console-complaint-plan-revised")

    found = await service_get(system, "complaints", f"/complaints/{complaint_id}")
    plan = {a["action_id"]: a for a in found["actions"]}
    assert plan[first_id]["dropped_at"] and plan[first_id]["remedy"] == "apology"
    (kept,) = [a for a in plan.values() if not a.get("dropped_at")]
    assert (kept["remedy"], kept["description"], kept["owner"]) == (
        "partial_refund",
        "Refund the projector hire",
        AGENT_PRINCIPAL,
    )
    revisions = [h for h in found["history"] if h["action"] == "complaint.plan"]
    assert [h["actor"] for h in revisions] == [AGENT_PRINCIPAL, AGENT_PRINCIPAL]
    assert revisions[0]["note"] == "客戶要求退回投影機費用"

    # carried out, resolved, the customer satisfied, closed: then written up for the case library
    await take("complaint-step-start_execution", "in_progress")
    await page.click(f"{detail} [data-test=complaint-action][data-state=open] [data-test=complaint-action-done]")
    await page.wait_until(f"!document.querySelector({json.dumps(detail + ' [data-test=complaint-action-done]')})")
    await take("complaint-step-resolve", "resolved", **{"complaint-resolution": "Refunded the projector hire"})
    await page.fill(f"{detail} [data-test=complaint-score]", "4")
    await page.click(f"{detail} [data-test=complaint-step-confirm_satisfaction]")
    deadline = time.monotonic() + 15
    while not (await service_get(system, "complaints", f"/complaints/{complaint_id}")).get("satisfied_at"):
        assert time.monotonic() < deadline, "the customer's satisfaction is recorded"
        await asyncio.sleep(0.2)
    await take("complaint-step-close", "closed")
    case = {
        "problem": "投影機兩次故障",
        "cause": "燈泡老化",
        "solution": "退回投影機租金",
        "outcome": "客戶滿意",
        "lesson": "每月檢查投影機燈泡",
    }
    await page.wait_for(f"{detail} [data-test=complaint-case]")
    for field, text in case.items():
        await page.fill(f"{detail} [data-test=case-{field}]", text)
    await page.click(f"{detail} [data-test=complaint-step-record_case]")
    # (the status line may still say "done" from closing: the complaint's history says when the case is in)
    deadline = time.monotonic() + 15
    while True:
        found = await service_get(system, "complaints", f"/complaints/{complaint_id}")
        if any(h["action"] == "complaint.record_case" for h in found["history"]):
            break
        assert time.monotonic() < deadline, "the case is recorded"
        await asyncio.sleep(0.2)
    await page.wait_for("[data-test=status][data-kind=ok]", timeout=15)
    await page.screenshot("console-complaint-case-recorded")

    assert found["status"] == "closed"
    assert [h["actor"] for h in found["history"] if h["action"] == "complaint.record_case"] == [AGENT_PRINCIPAL]
    library = await service_get(system, "complaints", "/cases?q=" + quote("燈泡老化"))
    (mine,) = [c for c in library if c["complaint_id"] == complaint_id]
    assert {k: mine[k] for k in case} == case and mine["written_by"] == AGENT_PRINCIPAL
    assert page.errors == []


LABELS = {
    "zh-Hant": {"nav-complaints": "投訴", "nav-customers": "客戶檔案", "sign-out": "登出"},
    "zh-Hans": {"nav-complaints": "投诉", "nav-customers": "客户档案", "sign-out": "退出"},
    "en": {"nav-complaints": "Complaints", "nav-customers": "Customer file", "sign-out": "Sign out"},
}


async def test_the_language_switch_shows_each_languages_labels_and_is_remembered(
    system: System, console: str, browser: Browser
) -> None:
    page = await signed_in(browser, console, SUPERVISOR_TOKEN, SUPERVISOR_PRINCIPAL)
    await show(page, "complaints")
    for lang, labels in LABELS.items():
        await page.fill("[data-test=lang-select]", lang)
        for test, label in labels.items():
            # the label itself (a navigation button also shows how many items its list has)
            shown = await page.evaluate(
                f"(el => (el.querySelector('[data-i18n]') || el).textContent)"
                f"(document.querySelector('[data-test={test}]'))"
            )
            assert shown.strip() == label, (lang, test)
        assert await page.evaluate("document.documentElement.lang") == lang
        await page.screenshot(f"console-language-{lang}")
    # remembered across a reload (the token too, for this tab)
    await page.fill("[data-test=lang-select]", "zh-Hans")
    await page.goto(console + "/")
    await page.wait_for("[data-test=me]", text=SUPERVISOR_PRINCIPAL)
    assert (await page.text("[data-test=nav-complaints]")).strip() == "投诉"
    assert page.errors == []


async def test_the_first_language_follows_the_browsers(console: str) -> None:
    async with Browser.launch(lang="zh-CN") as browser:
        page = await browser.new_page()
        await page.goto(console + "/")
        await page.wait_until("document.body.dataset.ready === 'true'")
        assert await page.evaluate("document.documentElement.lang") == "zh-Hans"
        assert (await page.text("[data-test=signin-submit]")).strip() == "登录"
        await page.screenshot("console-signin-zh-Hans")


async def test_a_wrong_token_is_refused_and_sign_out_forgets_the_token(console: str, browser: Browser) -> None:
    page = await browser.new_page()
    await page.goto(console + "/")
    await page.wait_until("document.body.dataset.ready === 'true'")
    await page.fill("[data-test=lang-select]", "en")
    await page.fill("[data-test=signin-token]", "not-a-token-of-anyone")
    await page.click("[data-test=signin-submit]")
    await page.wait_for("[data-test=signin-error]", text="not valid")
    await page.screenshot("console-signin-refused")
    await page.fill("[data-test=signin-token]", AGENT_TOKEN)
    await page.click("[data-test=signin-submit]")
    await page.wait_for("[data-test=me]", text=AGENT_PRINCIPAL)
    await page.click("[data-test=sign-out]")
    await page.wait_for("[data-test=signin]")
    assert await page.evaluate("sessionStorage.getItem('meetdesk.token')") is None


async def test_an_agent_sees_no_supervisor_views_and_a_supervisor_sees_the_kpis(
    system: System, console: str, browser: Browser
) -> None:
    agent = await signed_in(browser, console, AGENT_TOKEN, AGENT_PRINCIPAL)
    assert await agent.evaluate("document.querySelector('[data-test=nav-handover]').hidden") is True
    assert await agent.evaluate("document.querySelector('[data-test=nav-kpis]').hidden") is True
    assert await agent.evaluate("document.querySelector('[data-test=scope]').value") == "mine"
    await agent.click("[data-test=sign-out]")

    sup = await signed_in(browser, console, SUPERVISOR_TOKEN, SUPERVISOR_PRINCIPAL)
    assert await sup.evaluate("document.querySelector('[data-test=scope]').value") == "all"
    await show(sup, "kpis")
    await sup.wait_for("[data-test=kpis-summary] dt")
    await sup.screenshot("console-kpis")
    href = await sup.evaluate("document.querySelector('[data-test=kpis-link]').getAttribute('href')")
    assert href.startswith("api/metrics/dashboard#token=")  # relative: the console may live under a prefix
    # the dashboard itself, through the console (its /kpis calls go through the console too)
    await sup.goto(f"{console}/{href}")
    await sup.wait_until("document.body && document.body.dataset.ready === 'true'", timeout=20)
    await sup.screenshot("console-dashboard")
    await asyncio.sleep(0)


# -- the desk's queues (intake's desk API) ---------------------------------------------------------
async def test_a_chat_awaiting_reply_appears_ticking_is_assigned_to_me_and_leaves_when_answered(
    system: System, console: str, browser: Browser
) -> None:
    page = await signed_in(browser, console, AGENT_TOKEN, AGENT_PRINCIPAL)
    await show(page, "awaiting", scope="unassigned")
    # three customers wrote before: with pages of two, the new chat is on the queue's second page or later
    earlier = [70000 + uuid.uuid4().int % 10000 for _ in range(3)]
    for other in earlier:
        await publish(system, "chat", chatwoot(other, other * 10, "Is the venue open on Sunday?"))
    await system.watcher.wait_for(
        lambda e: e.type == "inquiry.received" and e.data["conversation_id"] in {f"chatwoot:{c}" for c in earlier},
        count=3,
    )
    conv = 60000 + uuid.uuid4().int % 10000
    conversation_id = f"chatwoot:{conv}"
    await publish(system, "chat", chatwoot(conv, conv * 10, "Hello, do you have parking near the venue?"))
    row = f"[data-test=conversation-row][data-id='{conversation_id}']"
    await page.wait_for(row, timeout=20)
    assert len(await page.texts("[data-test=conversation-row]")) >= 4, "the whole queue, not its first page"
    assert await page.evaluate(f"document.querySelector({json.dumps(row)}).dataset.new") == "true"
    first = await page.text(row + " [data-test=waiting]")
    await asyncio.sleep(2.2)
    assert await page.text(row + " [data-test=waiting]") != first, "the waiting time ticks"
    await page.screenshot("console-awaiting-reply")

    await page.click(row + " [data-test=assign-me]")
    await system.watcher.wait_for(
        lambda e: (
            e.type == "conversation.assigned"
            and e.data["conversation_id"] == conversation_id
            and e.data["agent_id"] == AGENT_PRINCIPAL
            and e.data["actor"] == AGENT_PRINCIPAL
        )
    )
    await show(page, "awaiting", scope="mine")
    await page.wait_for(row + " [data-test=assignee]", text=AGENT_PRINCIPAL)
    await page.screenshot("console-awaiting-mine")

    await publish(system, "chat", chatwoot(conv, conv * 10 + 1, "Yes, 40 spaces below the venue.", outgoing=True))
    await page.wait_until(f"!document.querySelector({json.dumps(row)})", timeout=20, what="the answered chat leaves")
    assert page.errors == []


async def test_a_wechat_booking_request_missing_its_time_is_completed_in_the_console_and_confirmed_on_wechat(
    system: System, console: str, browser: Browser
) -> None:
    room = await round_the_clock_room(system, "Harbour")
    page = await signed_in(browser, console, AGENT_TOKEN, AGENT_PRINCIPAL)
    await show(page, "incomplete")

    openid, msg_id = f"oW{uuid.uuid4().hex[:12]}", str(24700000000000000 + uuid.uuid4().int % 10**15)
    await publish(system, "wechat", wechat_text(openid, msg_id, "下周三订会议室，12个人，要投影仪"), "application/xml")
    (inquiry,) = await system.watcher.wait_for(
        lambda e: e.type == "inquiry.received" and e.data["source_ref"] == msg_id
    )
    inquiry_id = inquiry.data["inquiry_id"]
    row = f"[data-test=inquiry-row][data-id='{inquiry_id}']"
    await page.wait_for(row, timeout=20)
    await page.screenshot("console-incomplete-listed")

    await page.click(row + " [data-test=inquiry-complete-open]")
    form = f"[data-test=complete-form][data-id='{inquiry_id}']"
    await page.wait_for(form)

    def field(name: str) -> str:
        return f"document.querySelector({json.dumps(f'{form} [data-test=complete-{name}]')})"

    assert await page.evaluate(field("date") + ".value")  # from the draft
    assert await page.evaluate(field("attendees") + ".value") == "12"
    assert await page.evaluate(field("equipment-projector") + ".checked")
    assert await page.evaluate(field("start") + ".classList.contains('missing')"), "what the customer did not say"
    assert not await page.evaluate(field("date") + ".classList.contains('missing')")
    await page.wait_until(f"!!{field('room')}.querySelector({json.dumps(f'option[value={room!r}]')})")
    await page.fill(f"{form} [data-test=complete-start]", "15:00")
    await page.fill(f"{form} [data-test=complete-end]", "17:00")
    await page.fill(f"{form} [data-test=complete-room]", room)
    await page.screenshot("console-incomplete-form")
    await page.click(f"{form} [data-test=complete-submit]")

    (requested,) = await system.watcher.wait_for(
        lambda e: e.type == "booking.requested" and e.data["inquiry_id"] == inquiry_id, timeout=20
    )
    assert requested.data["agent_id"] == AGENT_PRINCIPAL
    assert requested.data["reply_to"] == {"channel": "wechat", "address": f"wechat:{openid}", "language": "zh-Hans"}
    meeting = requested.data["meeting"]
    start = datetime.fromisoformat(meeting["start"]).astimezone(HK)
    assert (start.hour, start.minute, meeting["attendees"], meeting["room_id"]) == (15, 0, 12, room)
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
    assert (told.data["channel"], told.data["address"]) == ("wechat", f"wechat:{openid}")
    await page.wait_until(f'!document.querySelector("{row}")', timeout=20, what="the completed request leaves")
    await page.screenshot("console-incomplete-completed")

    # the customer file shows the booking; the customer calls to move it an hour later
    await show(page, "customers")
    await page.fill("[data-test=customer-search]", openid)
    await page.click("[data-test=customer-search-submit]")
    customer_id = inquiry.data["customer"]["customer_id"]
    await page.wait_for(f"[data-test=customer-result][data-id='{customer_id}']")
    await page.click(f"[data-test=customer-result][data-id='{customer_id}'] a")
    booking = f"[data-test=customer-booking][data-id='{confirmed.data['booking_id']}']"
    await page.wait_for(booking)
    await page.click(f"{booking} [data-test=booking-reschedule]")
    await page.fill(f"{booking} [data-test=reschedule-start]", "16:00")
    await page.fill(f"{booking} [data-test=reschedule-end]", "18:00")
    await page.click(f"{booking} [data-test=booking-reschedule-submit]")
    (moved,) = await system.watcher.wait_for(
        lambda e: e.type == "booking.rescheduled" and e.data["booking_id"] == confirmed.data["booking_id"]
    )
    assert datetime.fromisoformat(moved.data["start"]).astimezone(HK).hour == 16
    assert moved.data["actor"] == AGENT_PRINCIPAL
    await page.screenshot("console-customer-booking-rescheduled")
    assert page.errors == []


async def test_a_missed_call_is_called_back_and_recorded_in_the_console(
    system: System, console: str, browser: Browser
) -> None:
    page = await signed_in(browser, console, AGENT_TOKEN, AGENT_PRINCIPAL)
    await show(page, "callbacks", scope="unassigned")
    uid = f"{int(time.time())}.{uuid.uuid4().int % 100000}"
    await publish(system, "phone", missed_call(uid, f"924{uuid.uuid4().int % 10**5:05d}"))
    (opened,) = await system.watcher.wait_for(lambda e: e.type == "callback.opened" and e.data["call_id"] == uid)
    callback_id = opened.data["callback_id"]
    row = f"[data-test=callback-row][data-id='{callback_id}']"
    await page.wait_for(row, timeout=20)
    await page.screenshot("console-callback-listed")

    await page.fill(row + " [data-test=callback-outcome]", "reached")
    await page.fill(row + " [data-test=callback-note]", "客戶改為星期五開會")
    await page.click(row + " [data-test=callback-record]")
    (recorded,) = await system.watcher.wait_for(
        lambda e: e.type == "callback.recorded" and e.data["callback_id"] == callback_id
    )
    assert (recorded.data["outcome"], recorded.data["done"], recorded.data["actor"]) == (
        "reached",
        True,
        AGENT_PRINCIPAL,
    )
    await page.wait_until(f'!document.querySelector("{row}")', timeout=20, what="the call-back done leaves")
    await page.screenshot("console-callback-recorded")
    done = await service_get(system, "intake", "/callbacks?status=done&limit=200")
    (item,) = [c for c in done["items"] if c["callback_id"] == callback_id]
    assert item["last_note"] == "客戶改為星期五開會"
    assert page.errors == []


async def test_two_customer_records_are_linked_then_unlinked_from_the_customer_file(
    system: System, console: str, browser: Browser
) -> None:
    a, b, conv, _ = await chat_and_wechat_customers(system)

    page = await signed_in(browser, console, AGENT_TOKEN, AGENT_PRINCIPAL)
    await show(page, "customers")
    await page.fill("[data-test=customer-search]", f"wong.{conv}@example.hk")
    await page.click("[data-test=customer-search-submit]")
    await page.wait_for(f"[data-test=customer-result][data-id='{a}']")
    await page.click(f"[data-test=customer-result][data-id='{a}'] a")
    await page.wait_for(f"[data-test=customer-file][data-id='{a}']")
    await page.fill("[data-test=link-other]", b)
    await page.fill("[data-test=link-reason]", "同一位客戶，電話中確認")
    await page.click("[data-test=link-submit]")
    (linked,) = await system.watcher.wait_for(lambda e: e.type == "customer.linked" and e.data["customer_id"] == a)
    assert linked.data["identities"] == [{"kind": "customer_id", "value": b}]
    await page.wait_for(f"[data-test=linked-row][data-id='{b}']")
    await page.screenshot("console-customer-linked")

    await page.fill(f"[data-test=linked-row][data-id='{b}'] [data-test=unlink-reason]", "其實是兩位不同的客戶")
    await page.click(f"[data-test=linked-row][data-id='{b}'] [data-test=unlink-submit]")
    (unlinked,) = await system.watcher.wait_for(lambda e: e.type == "customer.unlinked" and e.data["customer_id"] == a)
    assert unlinked.data["reason"] == "其實是兩位不同的客戶"
    await page.wait_until("!document.querySelector(" + json.dumps(f"[data-test=linked-row][data-id='{b}']") + ")")
    assert len(await page.texts("[data-test=links-history] div")) == 2
    await page.screenshot("console-customer-unlinked")
    assert page.errors == []


async def test_an_agent_books_for_a_customer_from_the_file_and_accepts_an_alternative_when_the_room_is_taken(
    system: System, console: str, browser: Browser
) -> None:
    room = unique_room()
    await system.publisher.command(
        "rooms.upsert", room_id=room, name=f"Peak {room}", capacity=10, equipment=["projector"],
        opens_at="00:00", closes_at="00:00",
    )  # fmt: skip
    await system.watcher.wait_for(lambda e: e.type == "room.updated" and e.data["room_id"] == room)
    conv = 60000 + uuid.uuid4().int % 10000
    await publish(system, "chat", chatwoot(conv, conv * 10, "Hi, can you book a room for me? I will call you."))
    (inquiry,) = await system.watcher.wait_for(
        lambda e: e.type == "inquiry.received" and e.data["conversation_id"] == f"chatwoot:{conv}"
    )
    customer_id = inquiry.data["customer"]["customer_id"]

    page = await signed_in(browser, console, AGENT_TOKEN, AGENT_PRINCIPAL)
    await show(page, "customers")
    await page.fill("[data-test=customer-search]", f"wong.{conv}@example.hk")
    await page.click("[data-test=customer-search-submit]")
    await page.wait_for(f"[data-test=customer-result][data-id='{customer_id}']")
    await page.click(f"[data-test=customer-result][data-id='{customer_id}'] a")
    form = f"[data-test=book-form][data-id='{customer_id}']"
    await page.wait_for(f"[data-test=customer-file][data-id='{customer_id}'] [data-test=book-open]")
    await page.click("[data-test=book-open]")
    await page.wait_until(f"!document.querySelector({json.dumps(form)}).hidden")
    await page.wait_until(
        f"!!document.querySelector({json.dumps(form + ' [data-test=book-room]')})"
        f".querySelector({json.dumps(f'option[value={room!r}]')})"
    )
    day = (datetime.now(HK) + timedelta(days=9)).date().isoformat()

    async def book(name: str) -> None:
        for test, value in {"name": name, "date": day, "start": "10:00", "end": "12:00", "attendees": "6",
                            "room": room}.items():  # fmt: skip
            await page.fill(f"{form} [data-test=book-{test}]", value)
        checked = await page.evaluate(
            f"document.querySelector({json.dumps(form + ' [data-test=book-equipment-projector]')}).checked"
        )
        if not checked:
            await page.click(f"{form} [data-test=book-equipment-projector]")

    await book("季度會議")
    await page.click(f"{form} [data-test=book-check]")
    await page.wait_for(f"{form} [data-test=book-free-room][data-id='{room}']")
    await page.screenshot("console-book-for-customer-form")
    await page.click(f"{form} [data-test=book-submit]")
    (requested,) = await system.watcher.wait_for(
        lambda e: e.type == "booking.requested" and e.data["customer_id"] == customer_id
        and e.data["meeting"]["name"] == "季度會議",
        timeout=20,
    )  # fmt: skip
    assert requested.data["agent_id"] == AGENT_PRINCIPAL
    assert requested.data["reply_to"] == {"channel": "chat", "address": f"chatwoot:{conv}", "language": "en"}
    inquiry_id = requested.data["inquiry_id"]
    (confirmed,) = await system.watcher.wait_for(
        lambda e: e.type == "booking.confirmed" and e.data["inquiry_id"] == inquiry_id
    )
    assert confirmed.data["room_id"] == room
    (told,) = await system.watcher.wait_for(
        lambda e: e.type == "notification.requested" and e.data["template"] == "booking.confirmed"
        and e.data["parameters"].get("inquiry_id") == inquiry_id
    )  # fmt: skip
    assert (told.data["channel"], told.data["address"]) == ("chat", f"chatwoot:{conv}")
    await page.wait_for(f"{form} [data-test=book-result][data-outcome=confirmed][data-id='{inquiry_id}']", timeout=20)
    await page.screenshot("console-book-for-customer-confirmed")

    # the same room at the same time again: taken; booking offers alternatives, the agent accepts one
    await book("第二次會議")
    await page.click(f"{form} [data-test=book-submit]")
    (second,) = await system.watcher.wait_for(
        lambda e: e.type == "booking.requested" and e.data["meeting"]["name"] == "第二次會議"
        and e.data["customer_id"] == customer_id,
        timeout=20,
    )  # fmt: skip
    await system.watcher.wait_for(
        lambda e: e.type == "booking.rejected" and e.data["inquiry_id"] == second.data["inquiry_id"]
    )
    accept = f"{form} [data-test=book-result][data-outcome=rejected] [data-test=book-alternative-accept]"
    await page.wait_for(accept, timeout=20)
    await page.screenshot("console-book-for-customer-alternatives")
    await page.click(accept)
    (accepted,) = await system.watcher.wait_for(
        lambda e: e.type == "booking.confirmed" and e.data["inquiry_id"] == second.data["inquiry_id"], timeout=20
    )
    assert accepted.data["customer_id"] == customer_id
    await page.wait_for(f"{form} [data-test=book-result][data-outcome=confirmed]", timeout=20)
    await page.wait_for(f"[data-test=customer-booking][data-id='{accepted.data['booking_id']}']", timeout=20)
    await page.screenshot("console-book-for-customer-alternative-accepted")
    assert page.errors == []


async def test_a_supervisor_hands_an_agents_work_over_in_one_click(
    system: System, console: str, browser: Browser
) -> None:
    people = await staff_chain(system)  # complaints hands over only to someone in its staff directory
    leaving, taking = people["agent"], people["supervisor"]
    complaint_id = await register_complaint(system, "The air conditioning in room 5 was far too cold.")
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.post(
            system.url("complaints") + "/commands/complaint.assign",
            json={"command_id": str(uuid.uuid4()), "complaint_id": complaint_id, "agent_id": leaving},
            headers={"Authorization": f"Bearer {AGENT_TOKEN}"},
        )
        assert r.status_code == 200, r.text
    conv = 40000 + uuid.uuid4().int % 10000
    await publish(system, "chat", chatwoot(conv, conv * 10, "Can I bring my own projector?"))
    await system.watcher.wait_for(
        lambda e: e.type == "inquiry.received" and e.data["conversation_id"] == f"chatwoot:{conv}"
    )
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(50):  # intake has the conversation once its inquiry is out
            r = await client.post(
                system.url("intake") + "/commands/conversation.assign",
                json={"command_id": str(uuid.uuid4()), "conversation_id": f"chatwoot:{conv}", "agent_id": leaving},
                headers={"Authorization": f"Bearer {AGENT_TOKEN}"},
            )
            if r.status_code == 200:
                break
            await asyncio.sleep(0.2)
        assert r.status_code == 200, r.text

    page = await signed_in(browser, console, SUPERVISOR_TOKEN, SUPERVISOR_PRINCIPAL)
    await show(page, "handover")
    await page.fill("[data-test=handover-from]", leaving)
    await page.fill("[data-test=handover-to]", taking)
    await page.fill("[data-test=handover-reason]", "end of shift")
    await page.click("[data-test=handover-submit]")
    (handed,) = await system.watcher.wait_for(
        lambda e: e.type == "desk.handed_over" and e.data["from_agent"] == leaving
    )
    assert (handed.data["to_agent"], handed.data["conversations"], handed.data["actor"]) == (
        taking,
        1,
        SUPERVISOR_PRINCIPAL,
    )
    await page.wait_until("document.querySelectorAll('[data-test=handover-result] [data-ok=true]').length === 2")
    assert "Conversations 1" in await page.text("[data-test=handover-desk]")
    assert "Complaints 1" in await page.text("[data-test=handover-complaints]")
    await page.screenshot("console-handover")
    found = await service_get(system, "complaints", f"/complaints/{complaint_id}")
    assert found["agent_id"] == taking
    await show(page, "awaiting", scope="all")
    await page.fill("[data-test=filter-agent]", taking)
    await page.wait_for(f"[data-test=conversation-row][data-id='chatwoot:{conv}']", timeout=10)
    assert page.errors == []


async def test_a_cancellation_message_shows_the_customers_bookings_and_the_right_one_is_cancelled_in_one_step(
    system: System, console: str, browser: Browser
) -> None:
    room = unique_room()
    await system.publisher.command(
        "rooms.upsert", room_id=room, name=f"Harbour {room}", capacity=20, equipment=["projector"],
        opens_at="00:00", closes_at="00:00",
    )  # fmt: skip
    await system.watcher.wait_for(lambda e: e.type == "room.updated" and e.data["room_id"] == room)
    openid = f"oW{uuid.uuid4().hex[:12]}"
    msg_id = str(24500000000000000 + uuid.uuid4().int % 10**15)
    await publish(system, "wechat", wechat_text(openid, msg_id, "下周三订会议室，12个人，要投影仪"), "application/xml")
    (asked,) = await system.watcher.wait_for(lambda e: e.type == "inquiry.received" and e.data["source_ref"] == msg_id)
    day: str = ""
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(50):  # intake lists it once it has stored it
            r = await client.get(
                system.url("intake") + "/inquiries",
                params={"incomplete": "true", "limit": 200},
                headers={"Authorization": f"Bearer {AGENT_TOKEN}"},
            )
            found = [i for i in r.json()["items"] if i["inquiry_id"] == asked.data["inquiry_id"]]
            if found:
                day = found[0]["draft"]["date"]
                break
            await asyncio.sleep(0.2)
        assert day, "the request is listed"
        meeting = {"name": "季度會議", "start": f"{day}T10:00:00+08:00", "end": f"{day}T12:00:00+08:00",
                   "attendees": 12, "room_id": room, "equipment": ["projector"]}  # fmt: skip
        r = await client.post(
            system.url("intake") + "/commands/inquiry.complete",
            json={"command_id": str(uuid.uuid4()), "inquiry_id": asked.data["inquiry_id"], "meeting": meeting},
            headers={"Authorization": f"Bearer {AGENT_TOKEN}"},
        )
        assert r.status_code == 200, r.text
    (confirmed,) = await system.watcher.wait_for(
        lambda e: e.type == "booking.confirmed" and e.data["inquiry_id"] == asked.data["inquiry_id"]
    )
    booking_id = confirmed.data["booking_id"]

    msg_id = str(int(msg_id) + 1)
    await publish(
        system, "wechat", wechat_text(openid, msg_id, "请帮我取消下周三的会议室预约，谢谢"), "application/xml"
    )
    (cancel,) = await system.watcher.wait_for(lambda e: e.type == "inquiry.received" and e.data["source_ref"] == msg_id)
    assert cancel.data["intent"] == "cancellation"

    page = await signed_in(browser, console, AGENT_TOKEN, AGENT_PRINCIPAL)
    await show(page, "cancellations")
    option = f"[data-test=cancellation-row][data-id='{cancel.data['inquiry_id']}'] [data-test=booking-option]"
    await page.wait_for(f"{option}[data-id='{booking_id}']", timeout=20)
    await page.screenshot("console-cancellation-beside-bookings")
    await page.click(f"{option}[data-id='{booking_id}'] [data-test=cancel-booking]")
    (cancelled,) = await system.watcher.wait_for(
        lambda e: e.type == "booking.cancelled" and e.data["booking_id"] == booking_id
    )
    assert cancelled.data.get("actor", AGENT_PRINCIPAL) == AGENT_PRINCIPAL
    await page.wait_until(
        "!document.querySelector(" + json.dumps(f"{option}[data-id='{booking_id}']") + ")", timeout=20
    )
    await page.screenshot("console-cancellation-done")

    # the room's day shows it, cancelled
    await show(page, "bookings")
    await page.wait_until(
        "!!document.querySelector(" + json.dumps(f"[data-test=room-select] option[value='{room}']") + ")"
    )
    await page.fill("[data-test=room-select]", room)
    await page.fill("[data-test=room-date]", day)
    await page.wait_for(f"[data-test=room-day-booking][data-id='{booking_id}'][data-status=cancelled]")
    await page.screenshot("console-room-day")
    assert page.errors == []
