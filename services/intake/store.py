"""Intake's queries: the customer directory and the inquiry log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import RetryTransaction

from .models import customers, identities, inquiries


@dataclass
class Resolution:
    customer_id: uuid.UUID
    created: bool
    linked: list[tuple[str, str]]  # identities newly attached to an existing customer
    evidence: list[tuple[str, str]]  # the identities that matched


async def record_inquiry(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert the inquiry; False if this (channel, source_ref) was already accepted."""
    stmt = (
        pg_insert(inquiries)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["channel", "source_ref"])
        .returning(inquiries.c.inquiry_id)
    )
    return (await session.execute(stmt)).first() is not None


async def set_inquiry_customer(session: AsyncSession, inquiry_id: uuid.UUID, customer_id: uuid.UUID) -> None:
    await session.execute(
        sa.update(inquiries).where(inquiries.c.inquiry_id == inquiry_id).values(customer_id=customer_id)
    )


async def resolve_customer(session: AsyncSession, name: str | None, ids: list[tuple[str, str]]) -> Resolution:
    """The customer these identities belong to; a new one if none is known. Identities not yet known
    are attached to the customer found (same email or same phone = same person)."""
    if ids:
        cond = sa.tuple_(identities.c.kind, identities.c.value).in_(ids)
        rows = (
            await session.execute(
                sa.select(identities.c.kind, identities.c.value, identities.c.customer_id, customers.c.created_at)
                .join(customers, customers.c.customer_id == identities.c.customer_id)
                .where(cond)
                .order_by(customers.c.created_at)
            )
        ).all()
    else:
        rows = []
    if rows:
        # several customers can match (an email of one, a phone of another): the oldest is kept;
        # merging them is a decision for an agent (customer.linked / customer.unlinked).
        customer_id = rows[0].customer_id
        known = {(r.kind, r.value) for r in rows}
        new = [i for i in ids if i not in known]
        if new:
            await _attach(session, customer_id, new)
        return Resolution(customer_id, False, new, [(r.kind, r.value) for r in rows if r.customer_id == customer_id])
    customer_id = uuid.uuid4()
    await session.execute(sa.insert(customers).values(customer_id=customer_id, name=name))
    await _attach(session, customer_id, ids)
    return Resolution(customer_id, True, [], [])


async def _attach(session: AsyncSession, customer_id: uuid.UUID, ids: list[tuple[str, str]]) -> None:
    if not ids:
        return
    stmt = (
        pg_insert(identities)
        .values([{"kind": k, "value": v, "customer_id": customer_id} for k, v in ids])
        .on_conflict_do_nothing()
        .returning(identities.c.kind)
    )
    inserted = (await session.execute(stmt)).all()
    if len(inserted) != len(ids):
        raise RetryTransaction("another delivery registered the same identity concurrently")
