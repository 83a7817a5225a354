"""The SLA clock over generated histories (hypothesis): paused time never counts; a warning and a breach
are recorded iff the running time reached their share of the target while the clock ran — once, at the
exact instant — whatever the order and lag of the due items; in calendar time and in business hours.

The oracle is independent of the code under test: time is whole minutes from a Monday midnight in Hong
Kong, every transition falls on a minute, and counted time is the number of minutes in which the clock
ran (and, with the calendar, the venue was open by a direct reading of its opening hours).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import event, given, settings
from hypothesis import strategies as st

from services.complaints import domain
from services.complaints.domain import (
    BREACHED,
    MET,
    PAUSED,
    RESOLVE,
    RESUMED,
    STARTED,
    STOPPED,
    WARNING,
    BusinessCalendar,
    ClockEvent,
    Command,
    Policy,
    Rules,
    SlaPolicy,
    clock,
)
from shared.contract.events import CustomerRef, InquiryReceived

HK = ZoneInfo("Asia/Hong_Kong")
T0 = datetime(2026, 3, 2, 0, 0, tzinfo=HK)  # a Monday
HOLIDAY = date(2026, 3, 4)  # the Wednesday
CALENDAR = BusinessCalendar(
    HK,
    {0: (time(9), time(18)), 1: (time(9), time(18)), 2: (time(9), time(18)), 3: (time(9), time(18))}
    | {4: (time(9), time(18)), 5: (time(10), time(14))},
    frozenset({HOLIDAY}),
)
W = RESOLVE  # the target the generated histories time


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def is_open(minute: int, calendar: BusinessCalendar | None) -> bool:
    """Whether ``minute`` counts — read directly off the opening hours, not through the calendar's code."""
    if calendar is None:
        return True
    local = at(minute).astimezone(HK)
    if local.date() == HOLIDAY or local.weekday() == 6:
        return False
    opens, closes = (9, 18) if local.weekday() < 5 else (10, 14)
    return opens <= local.hour < closes


# -- generated histories --------------------------------------------------------------------------
@dataclass(frozen=True)
class History:
    """A clock started at minute 0, paused and resumed alternately after ``gaps``; maybe ended (met or
    stopped); watched until ``horizon``; due items fired ``lags`` minutes after they fall due."""

    gaps: tuple[int, ...]
    end: str | None  # met, stopped or None (still running or paused at the horizon)
    end_gap: int
    horizon_gap: int
    target: int  # minutes of counted time; a multiple of 4, so that its 75 % falls on a minute
    calendar: BusinessCalendar | None
    lags: tuple[int, ...]

    def ops(self) -> list[tuple[int, str]]:
        out, minute = [], 0
        for n, gap in enumerate(self.gaps):
            minute += gap
            out.append((minute, PAUSED if n % 2 == 0 else RESUMED))
        if self.end is not None:
            out.append((minute + self.end_gap, MET if self.end == "met" else STOPPED))
        return out

    @property
    def horizon(self) -> int:
        ops = self.ops()
        return (ops[-1][0] if ops else 0) + self.horizon_gap

    def running(self, minute: int) -> bool:
        state = True
        for when, kind in self.ops():
            if when > minute:
                break
            state = kind == RESUMED
        return state

    def counted(self, until: int) -> int:
        """Counted minutes before ``until``."""
        return sum(1 for m in range(until) if self.running(m) and is_open(m, self.calendar))

    def reached(self, amount: int) -> int | None:
        """The minute at which the counted time reaches ``amount`` within the horizon (and so while the
        clock ran: :meth:`running` is false once it ended); None if it does not."""
        done = 0
        for m in range(self.horizon):
            if self.running(m) and is_open(m, self.calendar):
                done += 1
                if done == amount:
                    return m + 1
        return None

    @property
    def rules(self) -> Rules:
        return Rules(timedelta(minutes=self.target), 0.75, self.calendar)


@st.composite
def histories(draw: st.DrawFn, *, long: bool = False) -> History:
    return History(
        gaps=tuple(draw(st.lists(st.integers(0, 900 if long else 300), max_size=7))),
        end=draw(st.sampled_from([None, "met", "stopped"])),
        end_gap=draw(st.integers(0, 600)),
        horizon_gap=draw(st.integers(0, 2000)),
        target=4 * draw(st.integers(1, 400 if long else 150)),
        calendar=draw(st.sampled_from([None, CALENDAR])),
        lags=tuple(draw(st.lists(st.integers(0, 90), min_size=8, max_size=8))),
    )


def raw_log(h: History) -> list[ClockEvent]:
    """The history's transitions, as written (nothing settled)."""
    return [ClockEvent(W, STARTED, at(0)), *(ClockEvent(W, kind, at(m)) for m, kind in h.ops())]


def run(h: History) -> list[ClockEvent]:
    """The history as the service lives it: each transition through :func:`clock.transition` (which
    settles first), and the warning and breach items fired when due, ``lags`` late — unless the next
    transition comes first."""
    log = [ClockEvent(W, STARTED, at(0))]
    lags = list(h.lags)
    for minute, kind in [*h.ops(), (h.horizon, None)]:
        while True:
            reading = clock.read(log, W, h.rules)
            due = [
                x
                for x, done in ((reading.warning_at, reading.warned), (reading.breach_at, reading.breached))
                if x is not None and not done
            ]
            if not reading.running or not due:
                break
            fired = min(due) + timedelta(minutes=lags.pop(0) if lags else 0)
            if fired > at(minute):
                break  # the next transition comes first (and settles)
            log += clock.settle(log, W, h.rules, fired)
        if kind is None:
            log += clock.settle(log, W, h.rules, at(minute))
        else:
            log += clock.transition(log, W, kind, at(minute), h.rules)
    return log


# -- properties -----------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(histories(), st.integers(0, 6000))
def test_paused_time_never_counts(h: History, probe: int) -> None:
    """The elapsed time is the counted time in which the clock ran — at any moment."""
    events = raw_log(h)
    assert clock.elapsed(events, at(probe), h.calendar) == timedelta(minutes=h.counted(probe))


@settings(max_examples=150, deadline=None)
@given(histories(), st.integers(0, 3), st.integers(1, 500))
def test_a_longer_pause_moves_what_falls_due_after_it_and_nothing_else(h: History, which: int, extra: int) -> None:
    """Waiting longer for the customer changes no running time: calendar-time due instants after the
    pause move by exactly the extra wait, those before it stay."""
    pauses = [n for n in range(0, len(h.gaps) - 1, 2)]
    if not pauses or h.calendar is not None:
        return
    k = pauses[which % len(pauses)] + 1  # the gap that ends this pause
    longer = replace(h, gaps=(*h.gaps[:k], h.gaps[k] + extra, *h.gaps[k + 1 :]))
    resumed_at = sum(h.gaps[: k + 1])
    a, b = raw_log(h), raw_log(longer)
    shift = timedelta(minutes=extra)
    assert clock.elapsed(b, at(h.horizon) + shift) == clock.elapsed(a, at(h.horizon))
    for amount in (timedelta(minutes=h.target), h.rules.warn_after):
        before, after = clock.crossing(a, amount), clock.crossing(b, amount)
        if before is None:
            assert after is None
        else:
            assert after == (before + shift if before > at(resumed_at) else before)


@settings(max_examples=200, deadline=None)
@given(histories())
def test_a_breach_is_recorded_iff_the_target_passed_while_the_clock_ran(h: History) -> None:
    """Once, at the exact instant; and the warning likewise at three quarters of the target."""
    log = run(h)
    for kind, amount in ((BREACHED, h.target), (WARNING, h.target * 3 // 4)):
        recorded = [e.at for e in log if e.transition == kind]
        reached = h.reached(amount)
        event(f"{kind}: {'reached' if reached is not None else 'not reached'}; {h.end or 'open'}")
        assert len(recorded) <= 1, f"{kind} recorded twice"
        assert recorded == ([] if reached is None else [at(reached)]), (kind, reached, log)
    transitions = [e.transition for e in log if e.transition not in (WARNING, BREACHED)]
    assert transitions == [STARTED, *(kind for _, kind in h.ops())], "every transition applied, in order"


@settings(max_examples=200, deadline=None)
@given(histories())
def test_the_due_times_are_the_instants_the_running_time_will_reach_the_target(h: History) -> None:
    """While the clock runs, its breach is projected where the oracle says the count reaches the target
    if it keeps running; while it waits or after it ended, nothing is projected."""
    events = raw_log(h)
    reading = clock.read(events, W, h.rules)
    if not reading.running:
        reached = h.reached(h.target)
        assert reading.breach_at is None or (reached is not None and reading.breach_at == at(reached))
        return
    still = replace(h, horizon_gap=h.horizon_gap + 40_000)  # far enough for any target
    reached = still.reached(h.target)
    assert reached is not None and reading.breach_at == at(reached)


# -- the business-hours calendar ------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.integers(0, 8000), st.integers(0, 8000), st.integers(0, 8000))
def test_counted_time_adds_up(a: int, b: int, c: int) -> None:
    a, b, c = sorted((a, b, c))
    measure = domain.measure
    assert measure(CALENDAR, at(a), at(c)) == measure(CALENDAR, at(a), at(b)) + measure(CALENDAR, at(b), at(c))
    assert measure(CALENDAR, at(a), at(c)) == timedelta(minutes=sum(is_open(m, CALENDAR) for m in range(a, c)))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 8000), st.integers(1, 3000), st.integers(0, 59))
def test_advancing_by_counted_time_lands_on_the_first_instant_it_is_reached(start: int, amount: int, sec: int) -> None:
    begin = at(start) + timedelta(seconds=sec)
    end = domain.advance(CALENDAR, begin, timedelta(minutes=amount))
    assert domain.measure(CALENDAR, begin, end) == timedelta(minutes=amount)
    assert domain.measure(CALENDAR, begin, end - timedelta(microseconds=1)) < timedelta(minutes=amount)


def test_a_calendar_target_falls_due_in_opening_hours_across_the_night_the_weekend_and_a_holiday() -> None:
    friday_five = datetime(2026, 3, 6, 17, 0, tzinfo=HK)
    assert domain.advance(CALENDAR, friday_five, timedelta(hours=2)) == datetime(2026, 3, 7, 11, 0, tzinfo=HK)
    # Friday 17-18 (1 h), Saturday 10-14 (4 h), then Monday from 9
    assert domain.advance(CALENDAR, friday_five, timedelta(hours=6)) == datetime(2026, 3, 9, 10, 0, tzinfo=HK)
    tuesday_five = datetime(2026, 3, 3, 17, 0, tzinfo=HK)  # Wednesday is a holiday
    assert domain.advance(CALENDAR, tuesday_five, timedelta(hours=2)) == datetime(2026, 3, 5, 10, 0, tzinfo=HK)
    sunday = datetime(2026, 3, 8, 12, 0, tzinfo=HK)
    assert domain.measure(CALENDAR, sunday, sunday + timedelta(hours=6)) == timedelta(0)


# -- the whole complaint: commands, messages and due items ----------------------------------------
def _policy(target: int, calendar: BusinessCalendar | None) -> Policy:
    within = {s: timedelta(minutes=target) for s in domain.SEVERITIES}
    return Policy(sla=SlaPolicy(within, within, calendar=calendar))


def _customer_writes(minute: int) -> InquiryReceived:
    return InquiryReceived(
        inquiry_id=f"inq-{minute}",
        channel="email",
        source_ref=f"m-{minute}",
        conversation_id="conv-1",
        customer=CustomerRef(customer_id="cust-1"),
        intent="inquiry",
        language="en",
        received_at=at(minute),
    )


@settings(max_examples=100, deadline=None)
@given(histories(long=True))
def test_a_complaint_waiting_for_its_customer_breaches_its_resolution_iff_the_running_time_passed(h: History) -> None:
    """The same through the complaint's rules: complaint.await_customer pauses, the customer writing
    again resumes, the due items are the ones :func:`domain.plan` asks for, fired late or early as the
    generated lags say; the resolution target is breached (complaint.sla_breached) iff the time it ran
    reached it, once, at that instant."""
    policy = _policy(h.target, h.calendar)
    state = domain.new_complaint("7a4c1e9e-0c43-4a4f-9a43-2f1d0c6b5e01", at(0), policy, **{"reply_channel": "email"})
    for name in ("complaint.acknowledge", "complaint.investigate"):
        out = domain.apply(state, Command(name, "agent-7", at(0)), policy)
        assert isinstance(out, domain.Outcome)
        state = out.state
    breaches: list[datetime] = []
    lags = list(h.lags)
    for minute, kind in [*h.ops(), (h.horizon, None)]:
        while True:  # the due items that fall due before the next step, each fired when the scheduler takes it
            due = sorted((when, k) for k, when in domain.plan(state, policy).items())
            if not due:
                break
            fired = due[0][0] + timedelta(minutes=lags.pop(0) if lags else 0)
            if fired > at(minute):
                break
            out = domain.fire(state, due[0][1], fired, policy, {})
            breaches += [e.due_at for e in out.events if type(e).event_type == "complaint.sla_breached"]
            state = out.state
        if kind == PAUSED:
            out = domain.apply(state, Command("complaint.await_customer", "agent-7", at(minute)), policy)
        elif kind == RESUMED:
            out = domain.customer_wrote(state, _customer_writes(minute), now=at(minute), policy=policy)
        elif kind == MET:
            for name in ("complaint.propose_solution", "complaint.start_execution", "complaint.resolve"):
                step = domain.apply(state, Command(name, "agent-7", at(minute)), policy)
                assert isinstance(step, domain.Outcome)
                breaches += [e.due_at for e in step.events if type(e).event_type == "complaint.sla_breached"]
                state = step.state
            continue
        elif kind == STOPPED:
            out = domain.apply(state, Command("complaint.withdraw", "agent-7", at(minute)), policy)
        else:
            out = domain.fire(state, domain.RESOLVE_DUE, at(minute), policy, {})
        assert isinstance(out, domain.Outcome), out
        breaches += [e.due_at for e in out.events if type(e).event_type == "complaint.sla_breached"]
        state = out.state
    reached = h.reached(h.target)
    event("breached" if reached is not None else "not breached")
    event("paused" if h.gaps else "never paused")
    assert breaches == ([] if reached is None else [at(reached)]), reached
    assert clock.elapsed(clock.cycle(state.clock, RESOLVE), at(h.horizon), h.calendar) == timedelta(
        minutes=h.counted(h.horizon)
    )
