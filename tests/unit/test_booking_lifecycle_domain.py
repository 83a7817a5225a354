"""The meeting's life after the decision, in plain Python: what the departments prepare and by when,
the due items of a booking, the customer's confirmation the day before, check-in and the no-show
release, the end of the meeting and its survey, the waitlist, a room's day."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.booking import domain
from services.booking.domain import Policy, Room
from shared.contract.events import ReplyRoute

HK = ZoneInfo("Asia/Hong_Kong")
POLICY = Policy()  # equipment 2 h, catering 1 day, setup 1 h before; no-show after 20 min; offers 2 h / 15 min


def hk(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in December 2026, venue time (3 December 2026 is a Thursday)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=HK)


NOW = hk(1, 9)
MEDIUM = Room("R-M", "Medium room", 20, frozenset({"projector", "audio", "microphone"}), location="3/F")
LARGE = Room("R-L", "Hall", 50, frozenset({"projector", "audio", "microphone"}))
SMALL = Room("R-S", "Small room", 6, frozenset({"whiteboard"}))
ROOMS = {r.room_id: r for r in (MEDIUM, LARGE, SMALL)}
EMAIL = ReplyRoute(channel="email", address="chan@example.com", language="en")


def booking(
    start: datetime = hk(3, 14),
    end: datetime | None = None,
    *,
    room: Room = MEDIUM,
    equipment: tuple[str, ...] = ("microphone", "projector"),
    details: dict | None = None,
    **kw: object,
) -> domain.Booking:
    end = end or start + timedelta(hours=2)
    return domain.Booking(
        booking_id=uuid.UUID(int=7),
        inquiry_id="inq-7",
        room_id=room.room_id,
        customer_id="cust-7",
        name="Board meeting",
        start=start,
        end=end,
        blocked=POLICY.blocked(start, end, room),
        attendees=12,
        equipment=equipment,
        correlation_id=str(uuid.UUID(int=9)),
        details={"name": "Board meeting", "catering": "tea and biscuits", "materials": "annual report"}
        if details is None
        else details,
        reply_to=EMAIL,
        **kw,  # type: ignore[arg-type]
    )


# -- preparation ------------------------------------------------------------------------------------
def test_each_confirmation_asks_the_departments_it_needs_with_what_and_by_when():
    tasks = domain.preparation(booking(), MEDIUM, NOW, POLICY)
    assert [(t.department, t.due_by) for t in tasks] == [
        ("equipment", hk(3, 12)),  # the equipment tested two hours before
        ("catering", hk(2, 14)),  # the catering ordered a day before
        ("setup", hk(3, 13)),  # the room set up an hour before
    ]
    equipment, catering, setup = tasks
    assert equipment.task == "set up and test the equipment in Medium room: microphone, projector"
    assert equipment.details["equipment"] == ["microphone", "projector"]
    assert catering.task == "catering for 12: tea and biscuits"
    assert setup.task == "set up Medium room for 12 attendees"
    assert setup.details["materials"] == "annual report"
    for t in tasks:
        assert t.booking_id == uuid.UUID(int=7) and t.requested_at == NOW and t.watched and t.open
        assert t.details["room"] == {"room_id": "R-M", "name": "Medium room", "location": "3/F"}
        assert (t.details["start"], t.details["attendees"]) == ("2026-12-03T14:00:00+08:00", 12)
    event = setup.requested("R-M")
    assert (event.booking_id, event.room_id, event.department, event.due_by) == (
        str(uuid.UUID(int=7)),
        "R-M",
        "setup",
        hk(3, 13),
    )


def test_setup_is_always_asked_for_equipment_and_catering_only_when_booked():
    tasks = domain.preparation(booking(equipment=(), details={"name": "x", "catering": "  "}), MEDIUM, NOW, POLICY)
    assert [t.department for t in tasks] == ["setup"]


def test_the_leads_come_from_the_policy():
    policy = replace(POLICY, preparation_leads={"equipment": timedelta(minutes=30), "setup": timedelta(0)})
    tasks = domain.preparation(booking(), MEDIUM, NOW, policy)
    assert {t.department: t.due_by for t in tasks} == {
        "equipment": hk(3, 13, 30),
        "catering": hk(3, 14),
        "setup": hk(3, 14),
    }


def test_a_deadline_already_past_when_booked_is_the_start_and_a_meeting_under_way_is_asked_without_alarm():
    late = domain.preparation(booking(), MEDIUM, hk(3, 13, 30), POLICY)  # booked 30 minutes before
    assert {t.department: t.due_by for t in late} == {"equipment": hk(3, 14), "catering": hk(3, 14), "setup": hk(3, 14)}
    assert all(t.watched for t in late)
    under_way = domain.preparation(booking(), MEDIUM, hk(3, 14, 25), POLICY)  # taken from the waitlist
    assert all(t.due_by == hk(3, 14, 25) and not t.watched for t in under_way)
    assert domain.next_deadline(under_way) is None


def test_a_booking_falls_due_for_its_reminder_preparation_no_show_check_and_end():
    b = booking()
    due = domain.timeline(b, domain.preparation(b, MEDIUM, NOW, POLICY), NOW, POLICY)
    assert {kind: d.due_at for kind, d in due.items()} == {
        domain.REMINDER: hk(2, 14),
        domain.PREPARATION: hk(2, 14),  # the catering's deadline comes first
        domain.NO_SHOW: hk(3, 14, 20),
        domain.COMPLETION: hk(3, 16),
    }
    assert all(d.key == str(b.booking_id) and d.correlation_id == b.correlation_id for d in due.values())


def test_a_booking_made_late_checked_in_or_never_released_falls_due_for_less():
    b = booking()
    assert domain.REMINDER not in domain.timeline(b, (), hk(2, 15), POLICY)
    assert domain.NO_SHOW not in domain.timeline(replace(b, checked_in_at=hk(3, 13, 50)), (), NOW, POLICY)
    assert domain.NO_SHOW not in domain.timeline(b, (), NOW, replace(POLICY, no_show_after=None))
    assert domain.PREPARATION not in domain.timeline(b, (), NOW, POLICY)
    assert domain.timeline(replace(b, status=domain.CANCELLED), (), NOW, POLICY) == {}


def test_a_short_meeting_is_released_by_its_end_at_the_latest_and_a_late_one_from_its_confirmation():
    assert POLICY.no_show_at(hk(3, 14), hk(3, 14, 15), NOW) == hk(3, 14, 15)
    assert POLICY.no_show_at(hk(3, 14), hk(3, 16), hk(3, 14, 30)) == hk(3, 14, 50)
    assert replace(POLICY, no_show_after=None).no_show_at(hk(3, 14), hk(3, 16), NOW) is None


def test_deadlines_passed_raise_each_open_task_once_and_the_item_moves_to_the_next():
    b = booking()
    tasks = list(domain.preparation(b, MEDIUM, NOW, POLICY))
    first = domain.preparation_overdue(b, tasks, hk(2, 14))
    assert isinstance(first, domain.Overdue)
    assert [t.department for t in first.tasks] == ["catering"]
    assert first.tasks[0].overdue_at == hk(2, 14)
    (event,) = first.events
    assert (event.department, event.task, event.due_by, event.room_id) == (
        "catering",
        "catering for 12: tea and biscuits",
        hk(2, 14),
        "R-M",
    )
    assert first.next == hk(3, 12)
    # the equipment was tested in time; the setup was not
    tasks = [first.tasks[0], replace(tasks[0], done_at=hk(3, 11)), tasks[2]]
    second = domain.preparation_overdue(b, tasks, hk(3, 13))
    assert isinstance(second, domain.Overdue)
    assert [t.department for t in second.tasks] == ["setup"] and second.next is None


@pytest.mark.parametrize(
    ("status", "reason"), [(domain.CANCELLED, "the booking is cancelled"), (domain.RELEASED, "the booking is released")]
)
def test_no_deadline_is_raised_for_a_booking_no_longer_held(status: str, reason: str):
    b = replace(booking(), status=status)
    assert domain.preparation_overdue(b, domain.preparation(b, MEDIUM, NOW, POLICY), hk(3, 13)) == domain.Refusal(
        reason
    )
    assert domain.preparation_overdue(None, (), hk(3, 13)) == domain.Refusal("the booking does not exist")


def test_a_department_reports_its_task_done_once():
    b = booking()
    tasks = domain.preparation(b, MEDIUM, NOW, POLICY)
    done = domain.preparation_done(
        b, tasks, "ref", department="catering", actor="catering-desk", note="ordered", now=hk(2, 10)
    )
    assert isinstance(done, domain.Prepared)
    assert (done.task.done_at, done.task.done_by, done.task.note) == (hk(2, 10), "catering-desk", "ordered")
    assert (done.event.department, done.event.actor, done.event.note) == ("catering", "catering-desk", "ordered")
    assert done.next == hk(3, 12), "the next deadline: the equipment's"
    again = domain.preparation_done(
        b, [done.task, tasks[0], tasks[2]], "ref", department="catering", actor="x", note=None, now=hk(2, 11)
    )
    assert again == domain.Refusal("the catering preparation was already reported done")


def test_a_preparation_that_was_not_asked_for_or_for_a_booking_not_held_is_refused():
    b = booking(equipment=())
    tasks = domain.preparation(b, MEDIUM, NOW, POLICY)
    kw = {"actor": "av", "note": None, "now": hk(3, 10)}
    assert domain.preparation_done(b, tasks, "ref", department="equipment", **kw) == domain.Refusal(
        "no equipment preparation was asked for this booking"
    )
    assert domain.preparation_done(None, (), "ref", department="setup", **kw) == domain.Refusal("no booking 'ref'")
    cancelled = replace(b, status=domain.CANCELLED)
    assert domain.preparation_done(cancelled, tasks, "ref", department="setup", **kw) == domain.Refusal(
        "the booking is already cancelled"
    )


# -- the day before, check-in, no-show, the end -----------------------------------------------------
def test_the_customer_confirms_attendance_once_and_is_thanked():
    b = booking()
    step = domain.confirm_attendance(b, "ref", ROOMS, actor="customer", now=hk(2, 15), policy=POLICY)
    assert isinstance(step, domain.Step)
    assert step.booking.attendance_confirmed_at == hk(2, 15)
    assert (step.event.booking_id, step.event.customer_id, step.event.actor) == (
        str(b.booking_id),
        "cust-7",
        "customer",
    )
    assert step.notice is not None and step.notice.template == "booking.attendance_confirmed"
    assert step.notice.event is not None and step.notice.event.address == "chan@example.com"
    assert "Please check in" in step.notice.parameters["text"]
    again = domain.confirm_attendance(step.booking, "ref", ROOMS, actor="customer", now=hk(2, 16), policy=POLICY)
    assert again == domain.Refusal("attendance was already confirmed")


@pytest.mark.parametrize(
    ("b", "now", "reason"),
    [
        (None, hk(2, 15), "no booking 'ref'"),
        (replace(booking(), status=domain.CANCELLED), hk(2, 15), "the booking is already cancelled"),
        (booking(), hk(3, 16), "the meeting is over"),
    ],
)
def test_attendance_is_not_confirmed_for_what_will_not_take_place(b, now, reason):
    assert domain.confirm_attendance(b, "ref", ROOMS, actor="customer", now=now, policy=POLICY) == domain.Refusal(
        reason
    )


def test_check_in_opens_an_hour_before_and_is_recorded_once():
    b = booking()
    assert domain.check_in(b, "ref", actor="desk", now=hk(3, 12, 59), policy=POLICY) == domain.Refusal(
        "check-in opens at 2026-12-03 13:00 (venue time)"
    )
    step = domain.check_in(b, "ref", actor="desk", now=hk(3, 13, 50), policy=POLICY)
    assert isinstance(step, domain.Step)
    assert step.booking.checked_in_at == hk(3, 13, 50)
    assert (step.event.room_id, step.event.actor, step.event.at) == ("R-M", "desk", hk(3, 13, 50))
    assert step.notice is None
    assert domain.check_in(step.booking, "ref", actor="desk", now=hk(3, 14), policy=POLICY) == domain.Refusal(
        "already checked in at 13:50 (venue time)"
    )
    assert domain.check_in(b, "ref", actor="desk", now=hk(3, 16), policy=POLICY) == domain.Refusal(
        "the meeting is over"
    )
    released = replace(b, status=domain.RELEASED)
    assert domain.check_in(released, "ref", actor="desk", now=hk(3, 14, 30), policy=POLICY) == domain.Refusal(
        "the booking was released: nobody checked in"
    )


def test_nobody_checked_in_twenty_minutes_after_the_start_releases_the_room_and_tells_the_customer():
    step = domain.no_show(booking(), ROOMS, hk(3, 14, 20), POLICY)
    assert isinstance(step, domain.Step)
    assert (step.booking.status, step.booking.released_at) == (domain.RELEASED, hk(3, 14, 20))
    assert (step.event.reason, step.event.room_id, step.event.start) == ("no_show", "R-M", hk(3, 14))
    assert step.notice is not None and step.notice.template == "booking.released"
    assert "within 20 minutes of its start" in step.notice.parameters["text"]


@pytest.mark.parametrize(
    ("b", "now", "reason"),
    [
        (replace(booking(), checked_in_at=hk(3, 14, 5)), hk(3, 14, 20), "the customer checked in"),
        (replace(booking(), status=domain.CANCELLED), hk(3, 14, 20), "the booking is cancelled"),
        (booking(), hk(3, 14, 19), "the meeting is not yet due to be released"),
        (None, hk(3, 14, 20), "the booking does not exist"),
    ],
)
def test_a_booking_checked_in_cancelled_or_not_yet_due_is_not_released(b, now, reason):
    assert domain.no_show(b, ROOMS, now, POLICY) == domain.Refusal(reason)


def test_the_end_of_a_meeting_completes_it_and_asks_the_customer_how_satisfied_they_were():
    b = replace(booking(), checked_in_at=hk(3, 13, 55))
    step = domain.complete(b, ROOMS, hk(3, 16), POLICY)
    assert isinstance(step, domain.Step)
    assert (step.booking.status, step.booking.completed_at) == (domain.COMPLETED, hk(3, 16))
    assert (step.event.checked_in, step.event.end) == (True, hk(3, 16))
    notice = step.notice
    assert notice is not None and notice.template == "booking.survey"
    assert notice.parameters["survey"] == {
        "type": "booking",
        "id": str(b.booking_id),
        "room_id": "R-M",
        "agent_id": None,  # booking.requested names no agent
    }
    assert notice.parameters["scale"] == [1, 5]
    assert "from 1 (very dissatisfied) to 5 (very satisfied)" in notice.parameters["text"]


def test_a_meeting_nobody_checked_in_for_is_left_to_the_no_show_rule_unless_the_rule_is_off():
    b = booking()
    assert domain.complete(b, ROOMS, hk(3, 16), POLICY) == domain.Refusal(
        "nobody checked in: the no-show rule releases it"
    )
    step = domain.complete(b, ROOMS, hk(3, 16), replace(POLICY, no_show_after=None))
    assert isinstance(step, domain.Step) and step.event.checked_in is False


@pytest.mark.parametrize(
    ("b", "now", "reason"),
    [
        (replace(booking(), checked_in_at=hk(3, 14)), hk(3, 15, 59), "the meeting has not ended"),
        (replace(booking(), status=domain.CANCELLED), hk(3, 16), "the booking is cancelled"),
        (replace(booking(), status=domain.RELEASED), hk(3, 16), "the booking is released"),
    ],
)
def test_no_survey_for_a_meeting_not_over_cancelled_or_released(b, now, reason):
    assert domain.complete(b, ROOMS, now, POLICY) == domain.Refusal(reason)


# -- the waitlist -----------------------------------------------------------------------------------
def ask(*, wait: bool = True, recurrence: str | None = None, room_id: str | None = "R-M") -> domain.Ask:
    request = domain.Request(hk(3, 14), hk(3, 16), 12, frozenset({"projector"}), room_id, recurrence_freq=recurrence)
    return domain.Ask("inq-w", "cust-w", "Waiting", request, {}, "corr-w", wait_if_taken=wait)


def test_a_request_waits_only_when_it_asked_to_and_its_one_meeting_was_taken():
    taken = domain.room_taken("R-M")
    assert domain.waits(ask(), taken)
    assert not domain.waits(ask(wait=False), taken)
    assert not domain.waits(ask(recurrence="weekly"), taken)
    assert not domain.waits(ask(), domain.Rejection("room_too_small", "too small"))
    declined = domain.rejected(ask(), taken, [], rooms=ROOMS, policy=POLICY, now=NOW)
    assert declined.outcome.waitlist == domain.WAITING
    assert declined.outcome.wait == domain.Wait("R-M", hk(3, 14), hk(3, 16), NOW)
    assert declined.notice.parameters["waitlist"] is True
    assert "You are on the waiting list" in declined.notice.parameters["text"]
    plain = domain.rejected(ask(wait=False), taken, [], rooms=ROOMS, policy=POLICY, now=NOW)
    assert plain.outcome.waitlist is None and plain.notice.parameters["waitlist"] is False


def waiter(
    inquiry_id: str = "inq-w", *, room_id: str | None = "R-M", start: datetime = hk(3, 14), hours: int = 2, **kw: object
) -> domain.RequestOutcome:
    meeting = {
        "name": "Waiting meeting",
        "start": start.isoformat(),
        "end": (start + timedelta(hours=hours)).isoformat(),
        "attendees": 12,
        "room_id": room_id,
        "equipment": ["projector"],
    }
    return domain.RequestOutcome(
        inquiry_id,
        "cust-w",
        domain.REJECTED,
        meeting,
        reason_code="room_unavailable",
        reply_to=EMAIL,
        waitlist=domain.WAITING,
        wait=domain.Wait(room_id, start, start + timedelta(hours=hours), NOW),
        correlation_id=str(uuid.UUID(int=5)),
        **kw,  # type: ignore[arg-type]
    )


def test_a_freed_slot_is_held_for_a_waiter_it_suits():
    freed = booking()
    offering = domain.WaitlistRound([freed], ROOMS, {}, NOW, POLICY)
    hold = offering.hold_for(waiter(), "corr-cancel")
    assert hold is not None
    assert (hold.status, hold.room_id, hold.start, hold.end, hold.inquiry_id) == (
        domain.HELD,
        "R-M",
        hk(3, 14),
        hk(3, 16),
        "inq-w",
    )
    assert hold.correlation_id == str(uuid.UUID(int=5)), "the waiter's request's correlation id"
    offering.held(hold)
    assert offering.hold_for(waiter("inq-2"), "c") is None, "held for the first waiter: not free for the second"


def test_a_waiter_with_no_room_named_takes_any_freed_room_that_suits_it():
    offering = domain.WaitlistRound([booking(room=SMALL, equipment=()), booking()], ROOMS, {}, NOW, POLICY)
    hold = offering.hold_for(waiter(room_id=None), "c")
    assert hold is not None and hold.room_id == "R-M", "the small room cannot hold 12 with a projector"


@pytest.mark.parametrize(
    ("who", "now"),
    [
        (waiter(room_id="R-L"), NOW),  # waits for another room
        (waiter(start=hk(3, 17)), NOW),  # its time does not touch what was freed
        (waiter(), hk(3, 15, 46)),  # its meeting ends within the cutoff: too late to offer
    ],
)
def test_a_freed_slot_is_not_held_for_a_waiter_it_does_not_help(who: domain.RequestOutcome, now: datetime):
    assert domain.WaitlistRound([booking()], ROOMS, {}, now, POLICY).hold_for(who, "c") is None


def test_a_waiter_whose_setup_only_met_the_freed_cleanup_was_blocked_by_it_and_is_helped():
    hold = domain.WaitlistRound([booking()], ROOMS, {}, NOW, POLICY).hold_for(waiter(start=hk(3, 16)), "c")
    assert hold is not None and hold.start == hk(3, 16)


def test_a_freed_slot_still_taken_by_another_booking_is_not_held():
    busy = {"R-M": [POLICY.blocked(hk(3, 15), hk(3, 17))]}
    assert domain.WaitlistRound([booking()], ROOMS, busy, NOW, POLICY).hold_for(waiter(), "c") is None


def test_an_offer_runs_two_hours_closing_a_quarter_before_the_meeting_or_a_quarter_after_a_late_offer():
    assert POLICY.offer_deadline(hk(3, 14), NOW) == hk(1, 11)
    assert POLICY.offer_deadline(hk(3, 14), hk(3, 13)) == hk(3, 13, 45)
    assert POLICY.offer_deadline(hk(3, 14), hk(3, 14, 20)) == hk(3, 14, 35)  # after a no-show


def test_an_offer_holds_the_slot_and_tells_the_waiter_how_to_take_it():
    hold = domain.WaitlistRound([booking()], ROOMS, {}, NOW, POLICY).hold_for(waiter(), "c")
    assert hold is not None
    offered = domain.offer(waiter(), hold, ROOMS, NOW, POLICY)
    assert offered.record.waitlist == domain.OFFERED
    assert offered.record.offer == domain.Offer(hold.booking_id, "R-M", hk(3, 14), hk(3, 16), hk(1, 11), NOW)
    e = offered.event
    assert (e.inquiry_id, e.customer_id, e.room_id, e.start, e.accept_by) == (
        "inq-w",
        "cust-w",
        "R-M",
        hk(3, 14),
        hk(1, 11),
    )
    assert offered.due == domain.Due(domain.WAITLIST_OFFER, "inq-w", hk(1, 11), hold.correlation_id)
    p = offered.notice.parameters
    assert offered.notice.template == "booking.waitlist_offered"
    assert p["accept"] == {"command": "booking.waitlist_accept", "inquiry_id": "inq-w"}
    assert p["accept_by"] == "2026-12-01T11:00:00+08:00" and "booking_id" not in p
    assert (
        "held for Waiting meeting on Thursday 3 December 2026, 14:00–16:00 until Tuesday 1 December 2026, 11:00"
        in p["text"]
    )


def test_the_waiter_takes_the_slot_before_the_deadline():
    hold = domain.WaitlistRound([booking()], ROOMS, {}, NOW, POLICY).hold_for(waiter(), "c")
    assert hold is not None
    record = domain.offer(waiter(), hold, ROOMS, NOW, POLICY).record
    taken = domain.accept_offer(record, hold, inquiry_id="inq-w", correlation_id="c", now=hk(1, 10), policy=POLICY)
    assert isinstance(taken, domain.Taken)
    assert (taken.record.outcome, taken.record.waitlist) == (domain.CONFIRMED, domain.ACCEPTED)
    assert taken.record.accepted == domain.Slot("R-M", hk(3, 14), hk(3, 16))
    assert taken.booking.status == domain.CONFIRMED and taken.booking.booking_id == hold.booking_id
    assert (taken.ask.inquiry_id, taken.ask.name, taken.ask.reply_to) == ("inq-w", "Waiting meeting", EMAIL)


def test_an_offer_taken_late_or_never_made_is_refused():
    hold = domain.WaitlistRound([booking()], ROOMS, {}, NOW, POLICY).hold_for(waiter(), "c")
    assert hold is not None
    record = domain.offer(waiter(), hold, ROOMS, NOW, POLICY).record
    kw = {"inquiry_id": "inq-w", "correlation_id": "c", "policy": POLICY}
    assert domain.accept_offer(record, hold, now=hk(1, 11, 1), **kw) == domain.Refusal(
        "the offer lapsed at 2026-12-01 11:00 (venue time)"
    )
    assert domain.accept_offer(None, None, now=NOW, **kw) == domain.Refusal("no booking request 'inq-w'")
    assert domain.accept_offer(waiter(), None, now=NOW, **kw) == domain.Refusal(
        "no slot has been offered to this request yet"
    )
    for state, reason in [
        (None, "the request is not on the waitlist"),
        (domain.ACCEPTED, "the offer was already accepted"),
        (domain.LEFT, "the request left the waitlist: one of its alternatives was accepted"),
        (domain.LAPSED, "the offer lapsed at 2026-12-01 11:00 (venue time)"),
    ]:
        assert domain.accept_offer(replace(record, waitlist=state), hold, now=NOW, **kw) == domain.Refusal(reason)


def test_an_offer_lapses_at_its_deadline_not_before():
    hold = domain.WaitlistRound([booking()], ROOMS, {}, NOW, POLICY).hold_for(waiter(), "c")
    assert hold is not None
    record = domain.offer(waiter(), hold, ROOMS, NOW, POLICY).record
    assert domain.lapse(record, hk(1, 10, 59)) == domain.Refusal("the offer is still open")
    lapsed = domain.lapse(record, hk(1, 11))
    assert isinstance(lapsed, domain.RequestOutcome) and lapsed.waitlist == domain.LAPSED
    assert domain.lapse(lapsed, hk(1, 12)) == domain.Refusal("the request is lapsed")
    assert domain.leave_waitlist(record).waitlist == domain.LEFT
    assert domain.leave_waitlist(lapsed).waitlist == domain.LAPSED


# -- what a cancellation, a changed meeting and a room's day look like ------------------------------
def test_a_cancellation_is_told_to_the_customer_once_for_all_the_meetings_cancelled():
    first = booking()
    second = replace(first, booking_id=uuid.UUID(int=8), start=hk(10, 14), end=hk(10, 16), series_id=uuid.UUID(int=3))
    notice = domain.cancellation_notice([first, second], ROOMS, POLICY, reason="plans changed")
    p = notice.parameters
    assert notice.template == "booking.cancelled" and p["reason"] == "plans changed"
    assert p["booking_ids"] == [str(uuid.UUID(int=7)), str(uuid.UUID(int=8))]
    assert p["text"].startswith("2 meetings of your booking Board meeting at Medium room (3/F) are cancelled:")


def test_a_moved_meeting_is_confirmed_and_checked_in_anew_and_prepared_for_its_new_time():
    b = replace(booking(), attendance_confirmed_at=hk(2, 15))
    change = domain.reschedule(
        b, "ref", ROOMS, start=hk(4, 10), end=hk(4, 12), room_id=None, actor="agent", now=NOW, policy=POLICY
    )
    assert isinstance(change, domain.Change)
    assert change.booking.attendance_confirmed_at is None and change.booking.checked_in_at is None
    assert {t.department: t.due_by for t in change.tasks}["setup"] == hk(4, 9)
    assert change.due[domain.COMPLETION].due_at == hk(4, 12)
    assert change.freed == b


def test_a_changed_meeting_is_prepared_anew():
    (update,) = domain.change(
        booking(), [booking()], "ref", ROOMS, attendees=None, equipment=[], actor="agent", policy=POLICY, now=NOW
    )
    assert [t.department for t in update.tasks] == ["catering", "setup"], "no equipment left to test"


def test_a_rooms_day_lists_the_free_periods_within_its_opening_hours():
    busy = [POLICY.blocked(hk(3, 10), hk(3, 12)), POLICY.blocked(hk(3, 14), hk(3, 16)), (hk(2, 20), hk(3, 8, 30))]
    day = domain.room_day(MEDIUM, date(2026, 12, 3), busy, POLICY)
    assert day.hours == (hk(3, 8), hk(3, 22))
    assert day.free == [(hk(3, 8, 30), hk(3, 9, 45)), (hk(3, 12, 15), hk(3, 13, 45)), (hk(3, 16, 15), hk(3, 22))]
    always = domain.room_day(
        replace(MEDIUM, opens_at=hk(3, 0).time(), closes_at=hk(3, 0).time()), date(2026, 12, 3), [], POLICY
    )
    assert always.free == [(hk(3, 0), hk(4, 0))]
