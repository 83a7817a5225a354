"""Complaints' queries: plain SQLAlchemy Core over its own tables (``uow.store`` in the handlers)."""

from __future__ import annotations

import uuid
from dataclasses import fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .domain import Complaint, HistoryEntry
from .models import complaints, history

# the columns the rules read and change (domain.Complaint's fields); registered_at never changes
STATE_COLUMNS = tuple(f.name for f in fields(Complaint) if f.name != "complaint_id")
MUTABLE_COLUMNS = tuple(c for c in STATE_COLUMNS if c != "registered_at")


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
        customer_id: str | None,
        channel: str | None,
        booking_id: str | None,
        text: str | None,
        correlation_id: str,
    ) -> bool:
        """Insert a new complaint; False if its inquiry already has one (a repeated delivery)."""
        stmt = (
            pg_insert(complaints)
            .values(
                complaint_id=uuid.UUID(state.complaint_id),
                inquiry_id=inquiry_id,
                customer_id=customer_id,
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

    async def get(self, complaint_id: str, *, lock: bool = False) -> Complaint | None:
        """The complaint's state (``lock``: held until the transaction ends); None if there is none."""
        key = _uuid(complaint_id)
        if key is None:
            return None
        stmt = sa.select(*(complaints.c[c] for c in STATE_COLUMNS)).where(complaints.c.complaint_id == key)
        if lock:
            stmt = stmt.with_for_update()
        row = (await self.conn.execute(stmt)).first()
        return Complaint(complaint_id=str(key), **row._mapping) if row is not None else None

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

    # -- what HTTP shows ----------------------------------------------------------------------
    async def listing(self, *, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Complaints, newest first (``status``: only those in it)."""
        stmt = sa.select(complaints).order_by(complaints.c.registered_at.desc(), complaints.c.complaint_id).limit(limit)
        if status:
            stmt = stmt.where(complaints.c.status == status)
        return [dict(r._mapping) for r in await self.conn.execute(stmt)]

    async def details(self, complaint_id: str) -> dict[str, Any] | None:
        """One complaint with its full history (oldest entry first); None if there is none."""
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
        return {**row._mapping, "history": [dict(e._mapping) for e in entries]}
