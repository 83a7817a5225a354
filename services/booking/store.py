"""Booking's queries: plain SQLAlchemy Core over its own tables."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from asyncpg.types import Range
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from . import domain
from .models import NO_OVERLAP, bookings, requests, rooms


def room_from_row(row: Any) -> domain.Room:
    return domain.Room(
        room_id=row.room_id,
        name=row.name,
        capacity=row.capacity,
        equipment=frozenset(row.equipment or ()),
        location=row.location,
        active=row.active,
    )


async def load_rooms(session: AsyncConnection) -> dict[str, domain.Room]:
    rows = (await session.execute(sa.select(rooms))).all()
    return {r.room_id: room_from_row(r) for r in rows}


async def upsert_room(session: AsyncConnection, values: dict[str, Any]) -> None:
    stmt = pg_insert(rooms).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["room_id"],
        set_={k: stmt.excluded[k] for k in values if k != "room_id"} | {"updated_at": sa.func.now()},
    )
    await session.execute(stmt)


async def busy_intervals(
    session: AsyncConnection, start: datetime, end: datetime, *, exclude_booking: uuid.UUID | None = None
) -> dict[str, list[tuple[datetime, datetime]]]:
    """Each room's blocked intervals that touch [start, end)."""
    stmt = sa.select(bookings.c.room_id, bookings.c.blocked).where(
        bookings.c.status != "cancelled",
        bookings.c.blocked.op("&&")(sa.func.tstzrange(start, end, "[)")),
    )
    if exclude_booking is not None:
        stmt = stmt.where(bookings.c.booking_id != exclude_booking)
    out: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for row in (await session.execute(stmt)).all():
        out[row.room_id].append((row.blocked.lower, row.blocked.upper))
    return out


def is_overlap(exc: IntegrityError) -> bool:
    orig = getattr(exc.orig, "__cause__", None) or exc.orig
    return getattr(orig, "sqlstate", None) == "23P01" or NO_OVERLAP in str(exc)


async def request_decided(session: AsyncConnection, inquiry_id: str) -> bool:
    stmt = sa.select(requests.c.inquiry_id).where(requests.c.inquiry_id == inquiry_id)
    return (await session.execute(stmt)).first() is not None


async def record_request(session: AsyncConnection, **values: Any) -> None:
    await session.execute(pg_insert(requests).values(**values).on_conflict_do_nothing())


async def insert_bookings(session: AsyncConnection, rows: list[dict[str, Any]], policy: domain.Policy) -> None:
    for row in rows:
        b_start, b_end = policy.blocked(row["start_at"], row["end_at"])
        row["blocked"] = Range(b_start, b_end, lower_inc=True, upper_inc=False)
    await session.execute(sa.insert(bookings), rows)


async def get_booking(session: AsyncConnection, booking_id: uuid.UUID, *, lock: bool = False) -> Any:
    stmt = sa.select(bookings).where(bookings.c.booking_id == booking_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).first()


async def update_booking(session: AsyncConnection, booking_id: uuid.UUID, policy: domain.Policy, **values: Any) -> None:
    if "start_at" in values:
        b_start, b_end = policy.blocked(values["start_at"], values["end_at"])
        values["blocked"] = Range(b_start, b_end, lower_inc=True, upper_inc=False)
    await session.execute(
        sa.update(bookings).where(bookings.c.booking_id == booking_id).values(**values, updated_at=sa.func.now())
    )


async def list_bookings(
    session: AsyncConnection, start: datetime, end: datetime, room_id: str | None, limit: int = 500
) -> list[Any]:
    stmt = (
        sa.select(bookings)
        .where(bookings.c.start_at < end, bookings.c.end_at > start)
        .order_by(bookings.c.start_at)
        .limit(limit)
    )
    if room_id:
        stmt = stmt.where(bookings.c.room_id == room_id)
    return list((await session.execute(stmt)).all())
