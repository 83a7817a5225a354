"""Complaints' queries: plain SQLAlchemy Core over its own tables (``uow.store`` in the handlers)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .domain import OPEN_STATUSES, ClockEvent, Complaint, HistoryEntry, Staff
from .models import clock, complaints, history, staff

# the columns the rules read and change (domain.Complaint's fields but its SLA log); registered_at never changes
STATE_COLUMNS = tuple(f.name for f in fields(Complaint) if f.name not in ("complaint_id", "clock"))
MUTABLE_COLUMNS = tuple(c for c in STATE_COLUMNS if c != "registered_at")
CLOCK_COLUMNS = tuple(f.name for f in fields(ClockEvent))
STAFF_COLUMNS = tuple(f.name for f in fields(Staff))


def _uuid(complaint_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(complaint_id)
    except ValueError:
        return None


class ComplaintsStore:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    # -- what the handlers use ----------------------------------------------------------------
    async def add(
        self,
        state: Complaint,
        *,
        inquiry_id: str,
        channel: str | None,
        booking_id: str | None,
        text: str | None,
        correlation_id: str,
    ) -> bool:
        """Insert a new complaint (its SLA log comes with :meth:`append_clock`); False if its inquiry
        already has one (a repeated delivery)."""
        stmt = (
            pg_insert(complaints)
            .values(
                complaint_id=uuid.UUID(state.complaint_id),
                inquiry_id=inquiry_id,
                channel=channel,
                booking_id=booking_id,
                text=text,
                correlation_id=correlation_id,
                **{c: getattr(state, c) for c in STATE_COLUMNS},
            )
            .on_conflict_do_nothing(index_elements=["inquiry_id"])
            .returning(complaints.c.complaint_id)
        )
        return (await self.conn.execute(stmt)).first() is not None

    async def registered_from(self, inquiry_id: str) -> bool:
        """Whether the inquiry already has its complaint."""
        stmt = sa.select(complaints.c.complaint_id).where(complaints.c.inquiry_id == inquiry_id)
        return (await self.conn.execute(stmt)).first() is not None

    async def get(self, complaint_id: str, *, lock: bool = False) -> Complaint | None:
        """The complaint's state with its SLA log (``lock``: held until the transaction ends); None if
        there is none."""
        key = _uuid(complaint_id)
        if key is None:
            return None
        found = await self._load(complaints.c.complaint_id == key, lock=lock)
        return found[0] if found else None

    async def open_complaints(
        self,
        *,
        conversation_id: str | None = None,
        customer_id: str | None = None,
        agent_id: str | None = None,
        lock: bool = True,
    ) -> list[Complaint]:
        """The open complaints on a conversation or of a customer (either matches), or handled by an
        agent — in id order, and (``lock``) locked in that order, so that concurrent writers wait rather
        than deadlock."""
        if agent_id is not None:
            match = complaints.c.agent_id == agent_id
        else:
            criteria = [complaints.c.conversation_id == conversation_id] if conversation_id else []
            criteria += [complaints.c.customer_id == customer_id] if customer_id else []
            if not criteria:
                return []
            match = sa.or_(*criteria)
        return await self._load(sa.and_(match, complaints.c.status.in_(sorted(OPEN_STATUSES))), lock=lock)

    async def _load(self, where: Any, *, lock: bool) -> list[Complaint]:
        stmt = (
            sa.select(complaints.c.complaint_id, *(complaints.c[c] for c in STATE_COLUMNS))
            .where(where)
            .order_by(complaints.c.complaint_id)
        )
        if lock:
            stmt = stmt.with_for_update()
        rows = (await self.conn.execute(stmt)).all()
        if not rows:
            return []
        ids = [r.complaint_id for r in rows]
        logs: dict[uuid.UUID, list[ClockEvent]] = {key: [] for key in ids}
        entries = await self.conn.execute(
            sa.select(clock.c.complaint_id, *(clock.c[c] for c in CLOCK_COLUMNS))
            .where(clock.c.complaint_id.in_(ids))
            .order_by(clock.c.complaint_id, clock.c.seq)
        )
        for e in entries:
            logs[e.complaint_id].append(ClockEvent(**{c: getattr(e, c) for c in CLOCK_COLUMNS}))
        return [
            Complaint(
                complaint_id=str(r.complaint_id),
                clock=tuple(logs[r.complaint_id]),
                **{c: getattr(r, c) for c in STATE_COLUMNS},
            )
            for r in rows
        ]

    async def update(self, state: Complaint) -> None:
        await self.conn.execute(
            sa.update(complaints)
            .where(complaints.c.complaint_id == uuid.UUID(state.complaint_id))
            .values(**{c: getattr(state, c) for c in MUTABLE_COLUMNS}, updated_at=sa.func.now())
        )

    async def append_history(self, complaint_id: str, entry: HistoryEntry) -> None:
        await self.conn.execute(
            sa.insert(history).values(
                complaint_id=uuid.UUID(complaint_id),
                at=entry.at,
                actor=entry.actor,
                action=entry.action,
                from_status=entry.from_status,
                to_status=entry.to_status,
                note=entry.note,
                data=dict(entry.data),
            )
        )

    async def append_clock(self, complaint_id: str, first_seq: int, events: Sequence[ClockEvent]) -> None:
        """Append SLA log entries, numbered from ``first_seq`` (a number taken twice fails: the log was
        changed concurrently, and the transaction is retried)."""
        if not events:
            return
        key = uuid.UUID(complaint_id)
        await self.conn.execute(
            sa.insert(clock),
            [
                {"complaint_id": key, "seq": first_seq + n, **{c: getattr(e, c) for c in CLOCK_COLUMNS}}
                for n, e in enumerate(events)
            ],
        )

    # -- the staff directory --------------------------------------------------------------------
    async def upsert_staff(self, member: Staff) -> None:
        values = {c: getattr(member, c) for c in STAFF_COLUMNS}
        stmt = pg_insert(staff).values(**values)
        await self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["staff_id"],
                set_={**{c: stmt.excluded[c] for c in STAFF_COLUMNS if c != "staff_id"}, "updated_at": sa.func.now()},
            )
        )

    async def staff(self, staff_id: str) -> Staff | None:
        row = (
            await self.conn.execute(sa.select(*(staff.c[c] for c in STAFF_COLUMNS)).where(staff.c.staff_id == staff_id))
        ).first()
        return Staff(**row._mapping) if row is not None else None

    async def directory(self, staff_ids: Iterable[str] | None = None) -> dict[str, Staff]:
        """The staff directory (escalation looks up and down it; a desk has tens to hundreds of staff)."""
        stmt = sa.select(*(staff.c[c] for c in STAFF_COLUMNS))
        if staff_ids is not None:
            stmt = stmt.where(staff.c.staff_id.in_(list(staff_ids)))
        return {r.staff_id: Staff(**r._mapping) for r in await self.conn.execute(stmt)}

    # -- what HTTP shows ----------------------------------------------------------------------
    async def listing(self, *, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Complaints, newest first (``status``: only those in it)."""
        stmt = sa.select(complaints).order_by(complaints.c.registered_at.desc(), complaints.c.complaint_id).limit(limit)
        if status:
            stmt = stmt.where(complaints.c.status == status)
        return [dict(r._mapping) for r in await self.conn.execute(stmt)]

    async def details(self, complaint_id: str) -> dict[str, Any] | None:
        """One complaint with its full history and its SLA log (oldest first); None if there is none."""
        key = _uuid(complaint_id)
        if key is None:
            return None
        row = (await self.conn.execute(sa.select(complaints).where(complaints.c.complaint_id == key))).first()
        if row is None:
            return None
        entries = await self.conn.execute(
            sa.select(*(c for c in history.c if c.name != "complaint_id"))
            .where(history.c.complaint_id == key)
            .order_by(history.c.id)
        )
        log = await self.conn.execute(
            sa.select(clock.c.seq, *(clock.c[c] for c in CLOCK_COLUMNS))
            .where(clock.c.complaint_id == key)
            .order_by(clock.c.seq)
        )
        return {
            **row._mapping,
            "history": [dict(e._mapping) for e in entries],
            "clock": [dict(e._mapping) for e in log],
        }
