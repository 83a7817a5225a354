"""The SLA clock: a complaint's targets timed as a sequence of events, never a field overwritten.

Each complaint has two targets (:data:`TARGETS`): the formal reply (``acknowledge``; the automatic
receipt at registration is not it) and the resolution (``resolve``). Each target's clock is a list of
:class:`ClockEvent` in the complaint's SLA log:

    started → (paused → resumed)* → met | stopped          with warning and breached on the way

``started`` opens a *cycle* (the resolution clock starts a new one at each reopening); only time
between ``started``/``resumed`` and the next ``paused``/``met``/``stopped`` runs, counted in calendar
time or in business hours (:mod:`.calendar`). ``warning`` and ``breached`` record the exact instant the
running time reached the warning share and the target. Everything else is computed from the list:

- :func:`read` — elapsed running time, whether warned/breached, and when the warning and the breach
  fall (or fell) due: exact when past, projected while running, unknown while paused;
- :func:`settle` — the warning and breach that have fallen due by ``now`` and are not yet recorded
  (a breach is recorded iff the target passed while the clock ran);
- :func:`transition` — pause, resume, meet, stop or (re)start, settling first.

Escalation steps (``escalated``, ``rearmed``: :mod:`.escalation`) are kept in the same log, so that
the whole SLA story of a complaint is one append-only sequence; they do not move the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import get_args

from shared.business_hours import BusinessCalendar, advance, measure
from shared.contract.events import ClockTransition, SlaTarget

TARGETS: tuple[str, ...] = get_args(SlaTarget)
ACKNOWLEDGE, RESOLVE = TARGETS
TRANSITIONS: tuple[str, ...] = get_args(ClockTransition)  # announced as complaint.clock
STARTED, PAUSED, RESUMED, WARNING, MET, BREACHED, STOPPED = TRANSITIONS
ESCALATED, REARMED = "escalated", "rearmed"  # escalation steps, kept in the same log
LOG_KINDS: tuple[str, ...] = (*TRANSITIONS, ESCALATED, REARMED)

# what a clock is doing
IDLE, RUNNING, WAITING, ENDED_MET, ENDED_STOPPED = "idle", "running", "paused", "met", "stopped"
_STATE_AFTER = {STARTED: RUNNING, RESUMED: RUNNING, PAUSED: WAITING, MET: ENDED_MET, STOPPED: ENDED_STOPPED}
_ALLOWED_FROM = {
    PAUSED: {RUNNING},
    RESUMED: {WAITING},
    MET: {RUNNING, WAITING},
    STOPPED: {RUNNING, WAITING},
    STARTED: {IDLE, ENDED_MET, ENDED_STOPPED},
}


@dataclass(frozen=True)
class ClockEvent:
    """One entry of the SLA log: a clock transition of one target, or an escalation step."""

    which: str
    transition: str
    at: datetime
    cycle: int = 1
    level: int | None = None  # escalated: the level reached
    who: str | None = None  # escalated: who must act
    reason: str | None = None


@dataclass(frozen=True)
class Rules:
    """How one target of one complaint is timed: its length in counted time, the share of it at which
    a warning falls due, and the calendar that counts (None: calendar time)."""

    within: timedelta
    warning_share: float = 0.75
    calendar: BusinessCalendar | None = None

    def __post_init__(self) -> None:
        if self.within <= timedelta(0):
            raise ValueError("a target must be positive")
        if not 0 < self.warning_share < 1:
            raise ValueError("the warning share must lie strictly between 0 and 1")

    @property
    def warn_after(self) -> timedelta:
        return self.within * self.warning_share


@dataclass(frozen=True)
class Reading:
    """A target's clock at a moment (see :func:`read`)."""

    which: str
    cycle: int
    state: str  # idle, running, paused, met, stopped
    elapsed: timedelta
    warned: bool
    breached: bool
    warning_at: datetime | None  # when the warning share is (was) reached; None: not while paused or ended
    breach_at: datetime | None  # when the target is (was) reached; None: not while paused or ended
    started_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.state == RUNNING


# -- the log, read ------------------------------------------------------------------------------
def cycle(log: Sequence[ClockEvent], which: str) -> tuple[ClockEvent, ...]:
    """The events of ``which``'s current cycle (from its last ``started``), in order; () if it never started."""
    events = [e for e in log if e.which == which]
    starts = [i for i, e in enumerate(events) if e.transition == STARTED]
    return tuple(events[starts[-1] :]) if starts else ()


def state_of(events: Sequence[ClockEvent]) -> str:
    state = IDLE
    for e in events:
        state = _STATE_AFTER.get(e.transition, state)
    return state


def segments(events: Sequence[ClockEvent]) -> list[tuple[datetime, datetime | None]]:
    """The running intervals of one cycle, ``[from, to)``; the last is open (None) while it runs."""
    out: list[tuple[datetime, datetime | None]] = []
    begin: datetime | None = None
    for e in events:
        if e.transition in (STARTED, RESUMED) and begin is None:
            begin = e.at
        elif e.transition in (PAUSED, MET, STOPPED) and begin is not None:
            out.append((begin, max(begin, e.at)))
            begin = None
    if begin is not None:
        out.append((begin, None))
    return out


def elapsed(events: Sequence[ClockEvent], at: datetime, calendar: BusinessCalendar | None = None) -> timedelta:
    """Running time counted up to ``at``: paused time never counts."""
    total = timedelta(0)
    for begin, end in segments(events):
        if begin >= at:
            break
        total += measure(calendar, begin, at if end is None else min(end, at))
    return total


def crossing(
    events: Sequence[ClockEvent], amount: timedelta, calendar: BusinessCalendar | None = None
) -> datetime | None:
    """The instant the running time reaches ``amount``: exact if it already did, projected if the
    clock runs; None if it stopped running (paused, met, stopped) before."""
    done = timedelta(0)
    for begin, end in segments(events):
        if end is None:
            return advance(calendar, begin, amount - done)
        here = measure(calendar, begin, end)
        if done + here >= amount:
            return advance(calendar, begin, amount - done)
        done += here
    return None


def read(log: Sequence[ClockEvent], which: str, rules: Rules, now: datetime | None = None) -> Reading:
    """``which``'s clock in its current cycle (elapsed time up to ``now``, or to its last event)."""
    events = cycle(log, which)
    if not events:
        return Reading(which, 0, IDLE, timedelta(0), False, False, None, None)
    at = now if now is not None else events[-1].at
    return Reading(
        which=which,
        cycle=events[0].cycle,
        state=state_of(events),
        elapsed=elapsed(events, at, rules.calendar),
        warned=any(e.transition == WARNING for e in events),
        breached=any(e.transition == BREACHED for e in events),
        warning_at=crossing(events, rules.warn_after, rules.calendar),
        breach_at=crossing(events, rules.within, rules.calendar),
        started_at=events[0].at,
    )


# -- the log, written ---------------------------------------------------------------------------
def settle(log: Sequence[ClockEvent], which: str, rules: Rules, now: datetime) -> list[ClockEvent]:
    """The warning and the breach of ``which`` that fell due by ``now`` and are not yet recorded, each
    at the exact instant it fell due (in that order). A breach only ever falls due while the clock runs;
    a clock that ended (met, stopped) has nothing left to fall due, and one breached no warning."""
    events = cycle(log, which)
    if state_of(events) not in (RUNNING, WAITING):
        return []  # an ended clock was settled when it ended: nothing falls due after (a new target included)
    found: list[ClockEvent] = []
    number = events[0].cycle
    breached = any(e.transition == BREACHED for e in events)
    if not breached and not any(e.transition == WARNING for e in events):  # no warning after the fact
        at = crossing(events, rules.warn_after, rules.calendar)
        if at is not None and at <= now:
            found.append(ClockEvent(which, WARNING, at, number))
    if not breached:
        at = crossing(events, rules.within, rules.calendar)
        if at is not None and at <= now:
            found.append(ClockEvent(which, BREACHED, at, number))
    return found


def transition(
    log: Sequence[ClockEvent], which: str, kind: str, at: datetime, rules: Rules, *, reason: str | None = None
) -> list[ClockEvent]:
    """The events that ``kind`` (started, paused, resumed, met, stopped) of ``which`` at ``at`` appends:
    what fell due meanwhile (:func:`settle`), then the transition itself. [] when it does not apply
    (pausing a clock that does not run, resuming one that is not paused, meeting one that ended...).
    ``started`` opens a new cycle; a transition is never dated before the last event of its cycle."""
    if kind not in _ALLOWED_FROM:
        raise ValueError(f"{kind!r} is not something a clock does; one of {', '.join(_ALLOWED_FROM)}")
    events = cycle(log, which)
    if state_of(events) not in _ALLOWED_FROM[kind]:
        return []
    if kind == STARTED:
        return [ClockEvent(which, STARTED, at, events[0].cycle + 1 if events else 1, reason=reason)]
    at = max(at, events[-1].at)
    return [*settle(log, which, rules, at), ClockEvent(which, kind, at, events[0].cycle, reason=reason)]
