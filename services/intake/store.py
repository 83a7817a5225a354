"""Intake's queries: the customer directory and the inquiry log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import RetryTransaction

from .models import conversations, customers, deliveries, identities, inquiries, message_refs


@dataclass
class Resolution:
    customer_id: uuid.UUID
    created: bool
    linked: list[tuple[str, str]]  # identities newly attached to an existing customer
    evidence: list[tuple[str, str]]  # the identities that matched


async def record_inquiry(session: AsyncConnection, values: dict[str, Any]) -> bool:
    """Insert the inquiry; False if this (channel, source_ref) was already accepted."""
    stmt = (
        pg_insert(inquiries)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["channel", "source_ref"])
        .returning(inquiries.c.inquiry_id)
    )
    return (await session.execute(stmt)).first() is not None


async def set_inquiry_customer(session: AsyncConnection, inquiry_id: uuid.UUID, customer_id: uuid.UUID) -> None:
    await session.execute(
        sa.update(inquiries).where(inquiries.c.inquiry_id == inquiry_id).values(customer_id=customer_id)
    )


async def resolve_customer(session: AsyncConnection, name: str | None, ids: list[tuple[str, str]]) -> Resolution:
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


async def _attach(session: AsyncConnection, customer_id: uuid.UUID, ids: list[tuple[str, str]]) -> None:
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


async def record_delivery(session: AsyncConnection, values: dict[str, Any]) -> bool:
    """Log an accepted payload; False if this (channel, source_ref) was accepted before."""
    stmt = (
        pg_insert(deliveries)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["channel", "source_ref"])
        .returning(deliveries.c.source_ref)
    )
    return (await session.execute(stmt)).first() is not None


async def conversation_of_refs(session: AsyncConnection, channel: str, refs: list[str]) -> str | None:
    if not refs:
        return None
    stmt = sa.select(message_refs.c.conversation_id).where(
        message_refs.c.channel == channel, message_refs.c.ref.in_(refs)
    )
    return (await session.execute(stmt.limit(1))).scalar()


async def add_message_ref(session: AsyncConnection, channel: str, ref: str, conversation_id: str) -> None:
    await session.execute(
        pg_insert(message_refs)
        .values(channel=channel, ref=ref, conversation_id=conversation_id)
        .on_conflict_do_nothing()
    )


async def customer_message(
    session: AsyncConnection, conversation_id: str, channel: str, customer_id: uuid.UUID | None, at: datetime
) -> None:
    """The customer wrote (or called): the conversation now awaits an answer since ``at``."""
    stmt = pg_insert(conversations).values(
        conversation_id=conversation_id,
        channel=channel,
        customer_id=customer_id,
        opened_at=at,
        awaiting_since=at,
        last_activity_at=at,
    )
    c = conversations.c
    stmt = stmt.on_conflict_do_update(
        index_elements=["conversation_id"],
        set_={
            "customer_id": sa.func.coalesce(c.customer_id, stmt.excluded.customer_id),
            "awaiting_since": sa.func.coalesce(c.awaiting_since, stmt.excluded.awaiting_since),
            "last_activity_at": sa.func.greatest(c.last_activity_at, stmt.excluded.last_activity_at),
            "status": "open",
        },
    )
    await session.execute(stmt)


@dataclass
class Reply:
    first_reply: bool
    awaiting_since: datetime | None


async def agent_reply(
    session: AsyncConnection, conversation_id: str, channel: str, customer_id: uuid.UUID | None, at: datetime
) -> Reply:
    """An agent answered: was it the conversation's first answer, and since when was it awaited?"""
    c = conversations.c
    row = (
        await session.execute(sa.select(conversations).where(c.conversation_id == conversation_id).with_for_update())
    ).first()
    if row is None:  # the agent wrote first (or the customer's message came another way)
        await session.execute(
            pg_insert(conversations)
            .values(
                conversation_id=conversation_id,
                channel=channel,
                customer_id=customer_id,
                opened_at=at,
                first_reply_at=at,
                last_activity_at=at,
            )
            .on_conflict_do_nothing()
        )
        return Reply(first_reply=True, awaiting_since=None)
    await session.execute(
        sa.update(conversations)
        .where(c.conversation_id == conversation_id)
        .values(
            first_reply_at=sa.func.coalesce(c.first_reply_at, at),
            awaiting_since=None,
            last_activity_at=sa.func.greatest(c.last_activity_at, at),
        )
    )
    return Reply(first_reply=row.first_reply_at is None, awaiting_since=row.awaiting_since)


async def set_conversation_status(
    session: AsyncConnection, conversation_id: str, channel: str, status: str, at: datetime
) -> None:
    stmt = pg_insert(conversations).values(
        conversation_id=conversation_id, channel=channel, status=status, opened_at=at, last_activity_at=at
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["conversation_id"],
        set_={"status": status, "last_activity_at": sa.func.greatest(conversations.c.last_activity_at, at)},
    )
    await session.execute(stmt)
