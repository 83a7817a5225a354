"""The case library and the monthly review: a closed complaint written up (problem, cause, solution,
outcome, lesson) with its labels; its text compared in Simplified Chinese so that a Traditional query
finds Simplified text and the reverse; recurring problems grouped by category × root cause × room ×
service step (plain Python, then the handler)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services.complaints import domain, handlers
from services.complaints.domain import CLOSED, Outcome, Refusal
from shared.contract.commands import ComplaintClose, ComplaintRecordCase

from .fakes import command_in
from .test_complaints_domain import POLICY, cmd, complaint
from .test_complaints_handlers import AT_8, Desk, _to

CASE = {
    "problem": "會議室冷氣壞了,客人很熱",
    "cause": "冷氣機濾網未清潔",
    "solution": "更換濾網,致歉並提供茶點",
    "outcome": "客人滿意 (4/5)",
    "lesson": "每週檢查冷氣濾網",
}


def test_traditional_and_simplified_chinese_compare_equal_and_english_is_lower_cased() -> None:
    assert domain.normalise("冷氣") == domain.normalise("冷气") == "冷气"
    assert domain.normalise("  Projector   FAILED ") == "projector failed"
    assert domain.terms("冷氣 Projector") == ["冷气", "projector"]


def test_closing_with_a_case_writes_it_with_the_complaints_labels() -> None:
    resolved = complaint(domain.RESOLVED)
    state = domain.apply(resolved, cmd("complaint.confirm_satisfaction"), POLICY)
    assert isinstance(state, Outcome)
    out = domain.apply(state.state, cmd("complaint.close", actor="agent-7", details={"case": CASE}), POLICY)
    assert isinstance(out, Outcome) and out.state.status == CLOSED
    case = out.case
    assert case is not None
    assert (case.problem, case.lesson, case.category, case.written_by) == (
        CASE["problem"],
        CASE["lesson"],
        "equipment_failure",
        "agent-7",
    )
    assert "冷气机滤网未清洁" in case.search_text and "equipment_failure" in case.search_text


def test_a_case_is_written_only_for_a_closed_complaint() -> None:
    refused = domain.apply(complaint(domain.RESOLVED), cmd("complaint.record_case", details={"case": CASE}), POLICY)
    assert isinstance(refused, Refusal) and "needs it to be closed" in refused.reason
    out = domain.apply(complaint(CLOSED), cmd("complaint.record_case", details={"case": CASE}), POLICY)
    assert isinstance(out, Outcome) and out.case is not None and out.entry.action == "complaint.record_case"


def test_closing_without_a_case_writes_none() -> None:
    resolved = domain.apply(complaint(domain.RESOLVED), cmd("complaint.confirm_satisfaction"), POLICY)
    assert isinstance(resolved, Outcome)
    out = domain.apply(resolved.state, cmd("complaint.close"), POLICY)
    assert isinstance(out, Outcome) and out.case is None


def test_the_review_lists_the_problems_seen_at_least_twice_the_most_frequent_first() -> None:
    def row(n: int, category: str, cause: str | None, room: str | None, step: str | None) -> dict[str, object]:
        return {
            "complaint_id": f"c{n}",
            "category": category,
            "root_cause": cause,
            "room_id": room,
            "service_step": step,
        }

    rows = [
        row(1, "venue_environment", "equipment_failure", "R-1", "on_site"),
        row(2, "catering", "third_party", None, "catering"),
        row(3, "venue_environment", "equipment_failure", "R-1", "on_site"),
        row(4, "catering", "third_party", None, "catering"),
        row(5, "venue_environment", "equipment_failure", "R-1", "on_site"),
        row(6, "venue_environment", "equipment_failure", "R-2", "on_site"),
    ]
    review = domain.recurring(rows)
    assert [(g["category"], g["room_id"], g["count"]) for g in review] == [
        ("venue_environment", "R-1", 3),
        ("catering", None, 2),
    ]
    assert review[0]["complaint_ids"] == ["c1", "c3", "c5"]
    assert len(domain.recurring(rows, at_least=1)) == 3


def test_a_month_is_bounded_in_venue_time() -> None:
    hk = ZoneInfo("Asia/Hong_Kong")
    start, end = domain.month_bounds("2026-12", hk)
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=hk), datetime(2027, 1, 1, tzinfo=hk))
    assert end - start == timedelta(days=31)


async def test_the_handler_keeps_the_case_written_at_closing_and_rewritten_later() -> None:
    desk = Desk()
    cid = await desk.register()
    await _to(desk, cid, domain.RESOLVED, AT_8 + timedelta(minutes=5))
    refusal, _ = await desk.command("complaint.confirm_satisfaction", cid, AT_8 + timedelta(minutes=6))
    assert refusal is None
    close = ComplaintClose(command_id=str(uuid.uuid4()), actor="agent-7", complaint_id=cid, case=CASE)
    at = AT_8 + timedelta(minutes=7)
    assert await handlers.lifecycle(desk.uow(at), command_in(close), at, POLICY) is None
    assert desk.store.cases[cid].problem == CASE["problem"]
    rewrite = ComplaintRecordCase(
        command_id=str(uuid.uuid4()), actor="sup-1", complaint_id=cid, case={**CASE, "lesson": "每日檢查"}
    )
    assert await handlers.lifecycle(desk.uow(at), command_in(rewrite), at, POLICY) is None
    assert (desk.store.cases[cid].lesson, desk.store.cases[cid].written_by) == ("每日檢查", "sup-1")
