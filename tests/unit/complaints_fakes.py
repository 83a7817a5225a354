"""An in-memory :class:`services.complaints.store.ComplaintsStore` for handler unit tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from services.complaints.domain import (
    AROUND_AFTER,
    AROUND_BEFORE,
    OPEN_STATUSES,
    BookingView,
    Case,
    ClockEvent,
    Complaint,
    HistoryEntry,
    Staff,
)


@dataclass
class FakeComplaintsStore:
    """The complaints (their state and what they were registered with), their history, their SLA log and
    the staff directory."""

    states: dict[str, Complaint] = field(default_factory=dict)
    registered_with: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: dict[str, list[HistoryEntry]] = field(default_factory=dict)
    clocks: dict[str, list[ClockEvent]] = field(default_factory=dict)
    members: dict[str, Staff] = field(default_factory=dict)
    bookings: dict[str, BookingView] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)
    locked: list[str] = field(default_factory=list)

    # -- the store's methods --------------------------------------------------------------------
    async def add(
        self,
        state: Complaint,
        *,
        inquiry_id: str,
        channel: str | None,
        text: str | None,
        correlation_id: str,
    ) -> bool:
        if await self.registered_from(inquiry_id):
            return False
        self.states[state.complaint_id] = replace(state, clock=())  # the log comes with append_clock
        self.clocks[state.complaint_id] = []
        self.registered_with[state.complaint_id] = {
            "inquiry_id": inquiry_id,
            "channel": channel,
            "text": text,
            "correlation_id": correlation_id,
        }
        return True

    async def registered_from(self, inquiry_id: str) -> bool:
        return any(r["inquiry_id"] == inquiry_id for r in self.registered_with.values())

    async def get(self, complaint_id: str, *, lock: bool = False) -> Complaint | None:
        if lock:
            self.locked.append(complaint_id)
        state = self.states.get(complaint_id)
        return replace(state, clock=tuple(self.clocks[complaint_id])) if state is not None else None

    async def open_complaints(
        self,
        *,
        conversation_id: str | None = None,
        customer_id: str | None = None,
        agent_id: str | None = None,
        lock: bool = True,
    ) -> list[Complaint]:
        def matches(s: Complaint) -> bool:
            if agent_id is not None:
                return s.agent_id == agent_id
            return bool(
                (conversation_id and s.conversation_id == conversation_id)
                or (customer_id and s.customer_id == customer_id)
            )

        found = sorted(cid for cid, s in self.states.items() if s.status in OPEN_STATUSES and matches(s))
        return [s for cid in found if (s := await self.get(cid, lock=lock)) is not None]

    async def update(self, state: Complaint) -> None:
        before = self.states[state.complaint_id]
        assert before.registered_at == state.registered_at, "registered_at never changes"
        assert state.clock[: len(self.clocks[state.complaint_id])] == tuple(self.clocks[state.complaint_id]), (
            "the SLA log is only ever appended to"
        )
        self.states[state.complaint_id] = replace(state, clock=())

    async def append_history(self, complaint_id: str, entry: HistoryEntry) -> None:
        assert complaint_id in self.states, "history belongs to a stored complaint"
        self.history.setdefault(complaint_id, []).append(entry)

    async def append_clock(self, complaint_id: str, first_seq: int, events: Sequence[ClockEvent]) -> None:
        log = self.clocks[complaint_id]
        assert first_seq == len(log) + 1, f"the SLA log of {complaint_id} continues at {len(log) + 1}, not {first_seq}"
        log.extend(events)

    async def booking(self, booking_id: str, *, lock: bool = False) -> BookingView | None:
        return self.bookings.get(booking_id)

    async def customer_bookings(self, customer_id: str, at: datetime) -> list[BookingView]:
        return sorted(
            (
                b
                for b in self.bookings.values()
                if b.customer_id == customer_id
                and b.start is not None
                and b.end is not None
                and b.start <= at + AROUND_BEFORE
                and b.end >= at - AROUND_AFTER
            ),
            key=lambda b: b.start or at,
        )

    async def save_booking(self, view: BookingView) -> None:
        self.bookings[view.booking_id] = view

    async def complaints_about(self, booking_id: str) -> list[Complaint]:
        found = sorted(
            cid for cid, s in self.states.items() if s.booking_id == booking_id and s.status in OPEN_STATUSES
        )
        return [s for cid in found if (s := await self.get(cid, lock=True)) is not None]

    async def save_case(self, case: Case) -> None:
        self.cases[case.complaint_id] = case

    async def upsert_staff(self, member: Staff) -> None:
        self.members[member.staff_id] = member

    async def staff(self, staff_id: str) -> Staff | None:
        return self.members.get(staff_id)

    async def directory(self, staff_ids: Iterable[str] | None = None) -> dict[str, Staff]:
        wanted = set(staff_ids) if staff_ids is not None else None
        return {k: v for k, v in self.members.items() if wanted is None or k in wanted}

    async def listing(self, *, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        rows = [self._row(cid) for cid, s in self.states.items() if status is None or s.status == status]
        return sorted(rows, key=lambda r: (-r["registered_at"].timestamp(), str(r["complaint_id"])))[:limit]

    async def details(self, complaint_id: str) -> dict[str, Any] | None:
        if complaint_id not in self.states:
            return None
        entries = [{"id": n, **asdict(e)} for n, e in enumerate(self.history.get(complaint_id, []), start=1)]
        log = [{"seq": n, **asdict(e)} for n, e in enumerate(self.clocks[complaint_id], start=1)]
        return {**self._row(complaint_id), "history": entries, "clock": log}

    def _row(self, complaint_id: str) -> dict[str, Any]:
        state = asdict(self.states[complaint_id])
        del state["clock"]
        return {**state, "complaint_id": uuid.UUID(complaint_id), **self.registered_with[complaint_id]}

    # -- what tests read ------------------------------------------------------------------------
    def only(self) -> Complaint:
        """The one complaint stored (with its SLA log)."""
        ((cid, state),) = self.states.items()
        return replace(state, clock=tuple(self.clocks[cid]))

    def state(self, complaint_id: str) -> Complaint:
        return replace(self.states[complaint_id], clock=tuple(self.clocks[complaint_id]))

    def actions(self, complaint_id: str) -> list[str]:
        return [e.action for e in self.history.get(complaint_id, [])]

    def transitions(self, complaint_id: str, which: str | None = None) -> list[tuple[str, str]]:
        """The SLA log as (which, transition) pairs (``which``: of one target only)."""
        return [(e.which, e.transition) for e in self.clocks[complaint_id] if which is None or e.which == which]
