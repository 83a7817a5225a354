"""Complaints' queries: plain SQLAlchemy Core over its own tables."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from . import domain
from .models import complaints, history

# the columns the lifecycle rules change (domain.Complaint's fields)
STATE_COLUMNS = (
    "status",
    "category",
    "severity",
    "agent_id",
    "registered_at",
    "acknowledge_due_at",
    "resolve_due_at",
    "acknowledged_at",
    "resolved_at",
    "closed_at",
)
MUTABLE_COLUMNS = tuple(c for c in STATE_COLUMNS if c != "registered_at")


def state_from_row(row: Any) -> domain.Complaint:
    return domain.Complaint(**{c: getattr(row, c) for c in STATE_COLUMNS})


def _state_values(state: domain.Complaint, columns: tuple[str, ...] = STATE_COLUMNS) -> dict[str, Any]:
    return {c: getattr(state, c) for c in columns}


async def insert_complaint(session: AsyncConnection, state: domain.Complaint, **values: Any) -> bool:
    """Insert a new complaint; False if its inquiry already has one (a repeated delivery)."""
    stmt = (
        pg_insert(complaints)
        .values(**values, **_state_values(state))
        .on_conflict_do_nothing(index_elements=["inquiry_id"])
        .returning(complaints.c.complaint_id)
    )
    return (await session.execute(stmt)).first() is not None


async def get_complaint(session: AsyncConnection, complaint_id: uuid.UUID, *, lock: bool = False) -> Any:
    stmt = sa.select(complaints).where(complaints.c.complaint_id == complaint_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).first()


async def update_state(session: AsyncConnection, complaint_id: uuid.UUID, state: domain.Complaint) -> None:
    await session.execute(
        sa.update(complaints)
        .where(complaints.c.complaint_id == complaint_id)
        .values(**_state_values(state, MUTABLE_COLUMNS), updated_at=sa.func.now())
    )


async def append_history(session: AsyncConnection, complaint_id: uuid.UUID, entry: domain.HistoryEntry) -> None:
    await session.execute(
        sa.insert(history).values(
            complaint_id=complaint_id,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            from_status=entry.from_status,
            to_status=entry.to_status,
            note=entry.note,
            data=dict(entry.data),
        )
    )


async def list_complaints(session: AsyncConnection, *, status: str | None = None, limit: int = 100) -> list[Any]:
    stmt = sa.select(complaints).order_by(complaints.c.registered_at.desc(), complaints.c.complaint_id).limit(limit)
    if status:
        stmt = stmt.where(complaints.c.status == status)
    return list((await session.execute(stmt)).all())


async def get_history(session: AsyncConnection, complaint_id: uuid.UUID) -> list[Any]:
    stmt = sa.select(history).where(history.c.complaint_id == complaint_id).order_by(history.c.id)
    return list((await session.execute(stmt)).all())
