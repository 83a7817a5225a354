"""Intake's queries: the customer directory, deliveries, conversations and the inquiry log.

Intake is on the path of every inbound message, so its statements are plain SQL on the asyncpg
connection underneath the SQLAlchemy transaction (same transaction, a fraction of the Python cost
per statement). The tables are declared in ``models.py`` and created by the migrations.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import RetryTransaction, driver_connection

_pg = driver_connection


@dataclass
class Resolution:
    customer_id: uuid.UUID
    created: bool
    linked: list[tuple[str, str]]  # identities newly attached to an existing customer
    evidence: list[tuple[str, str]]  # the identities that matched


async def record_delivery(session: AsyncConnection, values: dict[str, Any]) -> bool:
    """Log an accepted payload; False if this (channel, source_ref) was accepted before."""
    pg = await _pg(session)
    row = await pg.fetchrow(
        """INSERT INTO deliveries (channel, source_ref, kind, conversation_id, received_at, correlation_id)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING 1""",
        values["channel"],
        values["source_ref"],
        values["kind"],
        values["conversation_id"],
        values["received_at"],
        values["correlation_id"],
    )
    return row is not None


async def record_inquiry(session: AsyncConnection, values: dict[str, Any]) -> None:
    pg = await _pg(session)
    await pg.execute(
        """INSERT INTO inquiries (inquiry_id, channel, source_ref, conversation_id, customer_id, intent, language,
                                  subject, text, agent_id, received_at, correlation_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING""",
        values["inquiry_id"],
        values["channel"],
        values["source_ref"],
        values["conversation_id"],
        values["customer_id"],
        values["intent"],
        values["language"],
        values["subject"],
        values["text"],
        values["agent_id"],
        values["received_at"],
        values["correlation_id"],
    )


async def resolve_customer(session: AsyncConnection, name: str | None, ids: list[tuple[str, str]]) -> Resolution:
    """The customer these identities belong to; a new one if none is known. Identities not yet known
    are attached to the customer found (same email or same phone = same person)."""
    pg = await _pg(session)
    rows = []
    if ids:
        rows = await pg.fetch(
            """SELECT i.kind, i.value, i.customer_id FROM identities i
                 JOIN customers c USING (customer_id)
                WHERE (i.kind, i.value) IN (SELECT * FROM unnest($1::text[], $2::text[]))
                ORDER BY c.created_at""",
            [k for k, _ in ids],
            [v for _, v in ids],
        )
    if rows:
        # several customers can match (an email of one, a phone of another): the oldest is kept;
        # merging them is a decision for an agent (customer.linked / customer.unlinked).
        customer_id = rows[0]["customer_id"]
        known = {(r["kind"], r["value"]) for r in rows}
        new = [i for i in ids if i not in known]
        if new:
            await _attach(pg, customer_id, new)
        evidence = [(r["kind"], r["value"]) for r in rows if r["customer_id"] == customer_id]
        return Resolution(customer_id, False, new, evidence)
    customer_id = uuid.uuid4()
    await pg.execute("INSERT INTO customers (customer_id, name) VALUES ($1, $2)", customer_id, name)
    await _attach(pg, customer_id, ids)
    return Resolution(customer_id, True, [], [])


async def _attach(pg: asyncpg.Connection, customer_id: uuid.UUID, ids: list[tuple[str, str]]) -> None:
    if not ids:
        return
    inserted = await pg.fetch(
        """INSERT INTO identities (kind, value, customer_id)
           SELECT k, v, $3 FROM unnest($1::text[], $2::text[]) AS t(k, v)
           ON CONFLICT DO NOTHING RETURNING kind""",
        [k for k, _ in ids],
        [v for _, v in ids],
        customer_id,
    )
    if len(inserted) != len(ids):
        raise RetryTransaction("another delivery registered the same identity concurrently")


async def conversation_of_refs(session: AsyncConnection, channel: str, refs: list[str]) -> str | None:
    if not refs:
        return None
    pg = await _pg(session)
    return await pg.fetchval(
        "SELECT conversation_id FROM message_refs WHERE channel = $1 AND ref = ANY($2::text[]) LIMIT 1", channel, refs
    )


async def add_message_ref(session: AsyncConnection, channel: str, ref: str, conversation_id: str) -> None:
    pg = await _pg(session)
    await pg.execute(
        "INSERT INTO message_refs (channel, ref, conversation_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        channel,
        ref,
        conversation_id,
    )


async def customer_message(
    session: AsyncConnection, conversation_id: str, channel: str, customer_id: uuid.UUID | None, at: datetime
) -> None:
    """The customer wrote (or called): the conversation now awaits an answer since ``at``."""
    pg = await _pg(session)
    await pg.execute(
        """INSERT INTO conversations AS c (conversation_id, channel, customer_id, status, opened_at, awaiting_since,
                                           last_activity_at)
           VALUES ($1, $2, $3, 'open', $4, $4, $4)
           ON CONFLICT (conversation_id) DO UPDATE SET
               customer_id = coalesce(c.customer_id, excluded.customer_id),
               awaiting_since = coalesce(c.awaiting_since, excluded.awaiting_since),
               last_activity_at = greatest(c.last_activity_at, excluded.last_activity_at),
               status = 'open'""",
        conversation_id,
        channel,
        customer_id,
        at,
    )


@dataclass
class Reply:
    first_reply: bool
    awaiting_since: datetime | None


async def agent_reply(
    session: AsyncConnection, conversation_id: str, channel: str, customer_id: uuid.UUID | None, at: datetime
) -> Reply:
    """An agent answered: was it the conversation's first answer, and since when was it awaited?"""
    pg = await _pg(session)
    row = await pg.fetchrow(
        "SELECT first_reply_at, awaiting_since FROM conversations WHERE conversation_id = $1 FOR UPDATE",
        conversation_id,
    )
    if row is None:  # the agent wrote first (or the customer's message came another way)
        await pg.execute(
            """INSERT INTO conversations (conversation_id, channel, customer_id, status, opened_at, first_reply_at,
                                          last_activity_at)
               VALUES ($1, $2, $3, 'open', $4, $4, $4) ON CONFLICT DO NOTHING""",
            conversation_id,
            channel,
            customer_id,
            at,
        )
        return Reply(first_reply=True, awaiting_since=None)
    await pg.execute(
        """UPDATE conversations SET first_reply_at = coalesce(first_reply_at, $2), awaiting_since = NULL,
                                    last_activity_at = greatest(last_activity_at, $2)
            WHERE conversation_id = $1""",
        conversation_id,
        at,
    )
    return Reply(first_reply=row["first_reply_at"] is None, awaiting_since=row["awaiting_since"])


async def set_conversation_status(
    session: AsyncConnection, conversation_id: str, channel: str, status: str, at: datetime
) -> None:
    pg = await _pg(session)
    await pg.execute(
        """INSERT INTO conversations AS c (conversation_id, channel, status, opened_at, last_activity_at)
           VALUES ($1, $2, $3, $4, $4)
           ON CONFLICT (conversation_id) DO UPDATE SET
               status = excluded.status, last_activity_at = greatest(c.last_activity_at, excluded.last_activity_at)""",
        conversation_id,
        channel,
        status,
        at,
    )
