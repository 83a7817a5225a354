"""Complaints' queries: plain SQLAlchemy Core over its own tables (``uow.store`` in the handlers)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .domain import (
    AROUND_AFTER,
    AROUND_BEFORE,
    CANCELLED,
    OPEN_STATUSES,
    Action,
    BookingView,
    Case,
    ClockEvent,
    Complaint,
    HistoryEntry,
    Staff,
)
from .models import booking_view, cases, clock, complaints, history, staff

# the columns the rules read and change (domain.Complaint's fields but its SLA log); registered_at never changes
STATE_COLUMNS = tuple(f.name for f in fields(Complaint) if f.name not in ("complaint_id", "clock"))
MUTABLE_COLUMNS = tuple(c for c in STATE_COLUMNS if c != "registered_at")
CLOCK_COLUMNS = tuple(f.name for f in fields(ClockEvent))
STAFF_COLUMNS = tuple(f.name for f in fields(Staff))
BOOKING_COLUMNS = tuple(f.name for f in fields(BookingView))


def _booking(row: Any) -> BookingView:
    values = dict(row._mapping)
    values["equipment"] = tuple(values["equipment"] or ())
    return BookingView(**values)


@dataclass(frozen=True)
class ComplaintFilter:
    """What an agent's list asks for (GET /complaints); None: any. ``statuses`` None: the open ones."""

    statuses: tuple[str, ...] | None = None
    agent_id: str | None = None
    severity: str | None = None
    customer_id: str | None = None
    booking_id: str | None = None
    service_step: str | None = None
    room_id: str | None = None


def _columns(state: Complaint, names: Sequence[str]) -> dict[str, Any]:
    """The complaint's state as column values (the evidence and the plan's actions as JSON)."""
    values = {c: getattr(state, c) for c in names}
    for name in ("evidence", "equipment"):
        if name in values:
            values[name] = list(values[name])
    if "actions" in values:
        values["actions"] = [a.to_json() for a in state.actions]
    return values


def _state(row: Any, log: tuple[ClockEvent, ...]) -> Complaint:
    values = {c: getattr(row, c) for c in STATE_COLUMNS}
    values["evidence"] = tuple(values["evidence"] or ())
    values["equipment"] = tuple(values["equipment"] or ())
    values["actions"] = tuple(Action.from_json(a) for a in values["actions"] or ())
    return Complaint(complaint_id=str(row.complaint_id), clock=log, **values)


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
                text=text,
                correlation_id=correlation_id,
                **_columns(state, STATE_COLUMNS),
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
        return [_state(r, tuple(logs[r.complaint_id])) for r in rows]

    async def update(self, state: Complaint) -> None:
        await self.conn.execute(
            sa.update(complaints)
            .where(complaints.c.complaint_id == uuid.UUID(state.complaint_id))
            .values(**_columns(state, MUTABLE_COLUMNS), updated_at=sa.func.now())
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

    # -- the bookings, as booking's events told them -------------------------------------------
    async def booking(self, booking_id: str, *, lock: bool = False) -> BookingView | None:
        stmt = sa.select(*(booking_view.c[c] for c in BOOKING_COLUMNS)).where(booking_view.c.booking_id == booking_id)
        if lock:
            stmt = stmt.with_for_update()
        row = (await self.conn.execute(stmt)).first()
        return _booking(row) if row is not None else None

    async def customer_bookings(self, customer_id: str, at: datetime) -> list[BookingView]:
        """The customer's bookings under way or just past at ``at`` (where a complaint naming none may be
        about)."""
        stmt = (
            sa.select(*(booking_view.c[c] for c in BOOKING_COLUMNS))
            .where(
                booking_view.c.customer_id == customer_id,
                booking_view.c.start <= at + AROUND_BEFORE,
                booking_view.c.end >= at - AROUND_AFTER,
            )
            .order_by(booking_view.c.start)
        )
        return [_booking(r) for r in await self.conn.execute(stmt)]

    async def save_booking(self, view: BookingView) -> None:
        """Keep the view of a booking; a cancellation stays, even against news that raced it (a booking
        not yet in the view locks no row)."""
        values = {c: getattr(view, c) for c in BOOKING_COLUMNS}
        values["equipment"] = list(view.equipment)
        stmt = pg_insert(booking_view).values(**values)
        kept = sa.case((booking_view.c.status == CANCELLED, CANCELLED), else_=stmt.excluded.status)
        await self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["booking_id"],
                set_={
                    **{c: stmt.excluded[c] for c in BOOKING_COLUMNS if c not in ("booking_id", "status")},
                    "status": kept,
                    "updated_at": sa.func.now(),
                },
            )
        )

    async def complaints_about(self, booking_id: str) -> list[Complaint]:
        """The open complaints naming a booking, locked in id order."""
        where = sa.and_(complaints.c.booking_id == booking_id, complaints.c.status.in_(sorted(OPEN_STATUSES)))
        return await self._load(where, lock=True)

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
    async def worklist(self, match: ComplaintFilter, *, cap: int) -> list[tuple[Complaint, dict[str, Any]]]:
        """The complaints matching ``match`` (at most ``cap``, the most recently registered), each as the
        rules see it (with its SLA log, to read its clocks) and as its row."""
        statuses = match.statuses if match.statuses is not None else tuple(sorted(OPEN_STATUSES))
        criteria = [complaints.c.status.in_(statuses)]
        for column, value in (
            (complaints.c.agent_id, match.agent_id),
            (complaints.c.severity, match.severity),
            (complaints.c.customer_id, match.customer_id),
            (complaints.c.booking_id, match.booking_id),
            (complaints.c.service_step, match.service_step),
            (complaints.c.room_id, match.room_id),
        ):
            if value is not None:
                criteria.append(column == value)
        stmt = (
            sa.select(complaints)
            .where(*criteria)
            .order_by(complaints.c.registered_at.desc(), complaints.c.complaint_id)
            .limit(cap)
        )
        rows = {r.complaint_id: dict(r._mapping) for r in await self.conn.execute(stmt)}
        if not rows:
            return []
        states = await self._load(complaints.c.complaint_id.in_(list(rows)), lock=False)
        return [(s, rows[uuid.UUID(s.complaint_id)]) for s in states]

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

    # -- the case library and the review --------------------------------------------------------
    async def save_case(self, case: Case) -> None:
        values = {f.name: getattr(case, f.name) for f in fields(Case)}
        values["complaint_id"] = uuid.UUID(case.complaint_id)
        values["search_text"] = case.search_text
        stmt = pg_insert(cases).values(**values)
        await self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["complaint_id"], set_={c: stmt.excluded[c] for c in values if c != "complaint_id"}
            )
        )

    async def find_cases(
        self, words: Sequence[str], labels: Mapping[str, str | None], *, limit: int
    ) -> list[dict[str, Any]]:
        """Cases whose normalised text holds every one of ``words`` and whose labels (category,
        root_cause, service_step, room_id) are as given (None: any); the latest closed first."""
        criteria = [cases.c.search_text.contains(w, autoescape=True) for w in words]
        criteria += [cases.c[k] == v for k, v in labels.items() if v is not None]
        stmt = (
            sa.select(*(c for c in cases.c if c.name != "search_text"))
            .where(*criteria)
            .order_by(cases.c.closed_at.desc().nulls_last(), cases.c.complaint_id)
            .limit(limit)
        )
        return [dict(r._mapping) for r in await self.conn.execute(stmt)]

    async def registered_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The complaints registered in [start, end) with what the review groups them by."""
        columns = ("complaint_id", "category", "root_cause", "room_id", "service_step")
        stmt = (
            sa.select(*(complaints.c[c] for c in columns))
            .where(complaints.c.registered_at >= start, complaints.c.registered_at < end)
            .order_by(complaints.c.registered_at)
        )
        return [dict(r._mapping) for r in await self.conn.execute(stmt)]
