"""An in-memory :class:`services.complaints.store.ComplaintsStore` for handler unit tests."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from services.complaints.domain import Complaint, HistoryEntry


@dataclass
class FakeComplaintsStore:
    """The complaints (their state and what they were registered with) and their history."""

    states: dict[str, Complaint] = field(default_factory=dict)
    registered_with: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: dict[str, list[HistoryEntry]] = field(default_factory=dict)
    locked: list[str] = field(default_factory=list)

    # -- the store's methods --------------------------------------------------------------------
    async def add(
        self,
        state: Complaint,
        *,
        inquiry_id: str,
        customer_id: str | None,
        channel: str | None,
        booking_id: str | None,
        text: str | None,
        correlation_id: str,
    ) -> bool:
        if any(r["inquiry_id"] == inquiry_id for r in self.registered_with.values()):
            return False
        self.states[state.complaint_id] = state
        self.registered_with[state.complaint_id] = {
            "inquiry_id": inquiry_id,
            "customer_id": customer_id,
            "channel": channel,
            "booking_id": booking_id,
            "text": text,
            "correlation_id": correlation_id,
        }
        return True

    async def get(self, complaint_id: str, *, lock: bool = False) -> Complaint | None:
        if lock:
            self.locked.append(complaint_id)
        return self.states.get(complaint_id)

    async def update(self, state: Complaint) -> None:
        before = self.states[state.complaint_id]
        assert before.registered_at == state.registered_at, "registered_at never changes"
        self.states[state.complaint_id] = state

    async def append_history(self, complaint_id: str, entry: HistoryEntry) -> None:
        assert complaint_id in self.states, "history belongs to a stored complaint"
        self.history.setdefault(complaint_id, []).append(entry)

    async def listing(self, *, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        rows = [self._row(cid) for cid, s in self.states.items() if status is None or s.status == status]
        return sorted(rows, key=lambda r: (-r["registered_at"].timestamp(), str(r["complaint_id"])))[:limit]

    async def details(self, complaint_id: str) -> dict[str, Any] | None:
        if complaint_id not in self.states:
            return None
        entries = [{"id": n, **asdict(e)} for n, e in enumerate(self.history.get(complaint_id, []), start=1)]
        return {**self._row(complaint_id), "history": entries}

    def _row(self, complaint_id: str) -> dict[str, Any]:
        state = asdict(self.states[complaint_id])
        return {**state, "complaint_id": uuid.UUID(complaint_id), **self.registered_with[complaint_id]}

    # -- what tests read ------------------------------------------------------------------------
    def only(self) -> Complaint:
        """The one complaint stored."""
        (state,) = self.states.values()
        return state

    def actions(self, complaint_id: str) -> list[str]:
        return [e.action for e in self.history.get(complaint_id, [])]
