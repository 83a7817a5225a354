"""Intake's statements, set-based: each takes the rows of a whole batch of deliveries.

Intake is on the path of every inbound message, so a batch costs about ten statements whatever its
size, each plain SQL on the asyncpg connection underneath the SQLAlchemy transaction (same
transaction, a fraction of the Python cost per statement). Rows are written in key order, so two
batches touching the same keys wait for each other instead of deadlocking. The tables are declared
in ``models.py`` and created by the migrations; the decisions are made in ``domain.py`` and
``directory.py``. Handler unit tests use an in-memory twin (``tests/unit/intake_fakes.py``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import RetryTransaction, driver_connection

from .desk_store import DeskStore
from .directory import Conversation
from .domain import AckClaim, Delivery, Inquiry, Question, Route

DeliveryKey = tuple[str, str]  # (channel, source_ref)


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    return [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


class IntakeStore(DeskStore):
    """Intake's tables, over the connection of one unit of work (``uow.store``)."""

    def __init__(self, conn: AsyncConnection):
        self._conn = conn
        self._pg: asyncpg.Connection | None = None

    async def _driver(self) -> asyncpg.Connection:
        if self._pg is None:
            self._pg = await driver_connection(self._conn)
        return self._pg

    async def conversations_of_refs(self, refs: Iterable[DeliveryKey]) -> dict[DeliveryKey, str]:
        """The conversations that channel-native message ids (email Message-IDs) belong to."""
        wanted = sorted(set(refs))
        if not wanted:
            return {}
        rows = await (await self._driver()).fetch(
            """SELECT m.channel, m.ref, m.conversation_id FROM message_refs m
                 JOIN unnest($1::text[], $2::text[]) AS w(channel, ref) USING (channel, ref)""",
            *_columns(wanted, 2),
        )
        return {(r["channel"], r["ref"]): r["conversation_id"] for r in rows}

    async def record_deliveries(self, rows: list[Delivery]) -> set[DeliveryKey]:
        """Log accepted payloads; returns the keys seen for the first time (a redelivery's key is
        not among them, nor is the second of two rows with one key)."""
        if not rows:
            return set()
        inserted = await (await self._driver()).fetch(
            """INSERT INTO deliveries (channel, source_ref, kind, conversation_id, received_at, correlation_id)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[])
               ON CONFLICT DO NOTHING RETURNING channel, source_ref""",
            *_columns(sorted(rows, key=lambda r: (r.channel, r.source_ref)), len(Delivery._fields)),
        )
        return {(r["channel"], r["source_ref"]) for r in inserted}

    async def add_message_refs(self, rows: list[tuple[str, str, str]]) -> None:
        """(channel, ref, conversation_id): a later reply naming ``ref`` joins the conversation."""
        if rows:
            await (await self._driver()).execute(
                """INSERT INTO message_refs (channel, ref, conversation_id)
                   SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING""",
                *_columns(sorted(rows), 3),
            )

    async def known_identities(self, ids: Iterable[tuple[str, str]]) -> list[tuple[str, str, uuid.UUID]]:
        """(kind, value, customer_id) of the identities already in the directory, oldest customer first."""
        wanted = sorted(set(ids))
        if not wanted:
            return []
        rows = await (await self._driver()).fetch(
            """SELECT i.kind, i.value, i.customer_id FROM identities i
                 JOIN unnest($1::text[], $2::text[]) AS w(kind, value) USING (kind, value)
                 JOIN customers c USING (customer_id)
                ORDER BY c.created_at, c.customer_id""",
            *_columns(wanted, 2),
        )
        return [(r["kind"], r["value"], r["customer_id"]) for r in rows]

    async def add_customers(
        self, customers: list[tuple[uuid.UUID, str | None]], identities: list[tuple[str, str, uuid.UUID]]
    ) -> None:
        """New customers (customer_id, name), and identities (kind, value, customer_id) attached to
        new or known customers. An identity another transaction registered meanwhile means this batch
        decided on stale facts: it is run again (:class:`RetryTransaction`)."""
        if customers:
            await (await self._driver()).execute(
                "INSERT INTO customers (customer_id, name) SELECT * FROM unnest($1::uuid[], $2::text[])",
                *_columns(customers, 2),
            )
        if identities:
            inserted = await (await self._driver()).fetch(
                """INSERT INTO identities (kind, value, customer_id)
                   SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[])
                   ON CONFLICT DO NOTHING RETURNING kind""",
                *_columns(sorted(identities, key=lambda r: (r[0], r[1])), 3),
            )
            if len(inserted) != len(identities):
                raise RetryTransaction("another delivery registered the same identity concurrently")

    async def lock_conversations(self, first_seen: dict[str, tuple[str, datetime]]) -> dict[str, Conversation]:
        """The conversations a batch touches, locked for update: ``first_seen`` maps each id to the
        channel and time of its first item in the batch, which open it if it is new."""
        if not first_seen:
            return {}
        ids = sorted(first_seen)
        pg = await self._driver()
        await pg.execute(
            """INSERT INTO conversations (conversation_id, channel, status, opened_at, last_activity_at)
               SELECT id, ch, 'open', at, at FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS n(id, ch, at)
               ON CONFLICT DO NOTHING""",
            ids,
            [first_seen[i][0] for i in ids],
            [first_seen[i][1] for i in ids],
        )
        rows = await pg.fetch(
            """SELECT conversation_id, channel, customer_id, status, opened_at, first_reply_at, awaiting_since,
                      last_activity_at, language
                 FROM conversations WHERE conversation_id = ANY($1::text[]) ORDER BY conversation_id FOR UPDATE""",
            ids,
        )
        return {r["conversation_id"]: Conversation(**dict(r)) for r in rows}

    async def save_conversations(self, conversations: Iterable[Conversation]) -> None:
        """Write back the conversations that changed."""
        changed = sorted((c for c in conversations if c.changed), key=lambda c: c.conversation_id)
        if not changed:
            return
        await (await self._driver()).execute(
            """UPDATE conversations c SET customer_id = u.customer_id, status = u.status,
                      first_reply_at = u.first_reply_at, awaiting_since = u.awaiting_since,
                      last_activity_at = u.last_activity_at, language = u.language
                 FROM unnest($1::text[], $2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[],
                             $6::timestamptz[], $7::text[])
                      AS u(conversation_id, customer_id, status, first_reply_at, awaiting_since, last_activity_at,
                           language)
                WHERE c.conversation_id = u.conversation_id""",
            [c.conversation_id for c in changed],
            [c.customer_id for c in changed],
            [c.status for c in changed],
            [c.first_reply_at for c in changed],
            [c.awaiting_since for c in changed],
            [c.last_activity_at for c in changed],
            [c.language for c in changed],
        )

    async def record_inquiries(self, rows: list[Inquiry]) -> None:
        if rows:
            plain = [r[:_PLAIN] for r in rows]
            await (await self._driver()).execute(
                _INSERT_INQUIRIES,
                *_columns(plain, _PLAIN),
                [json.dumps(list(r.missing)) for r in rows],
                [json.dumps(r.draft) if r.draft is not None else None for r in rows],
                [r.reply_channel for r in rows],
                [r.reply_address for r in rows],
            )

    # -- acknowledgements: at most one per route in a period ----------------------------------------
    async def claim_acknowledgements(self, claims: list[AckClaim], every: timedelta) -> set[Route]:
        """The routes whose acknowledgement may go out now: those with none sent within ``every``
        before the claim's time, now recorded as sent. One statement; a concurrent batch claiming the
        same route waits for this one's row, then finds it taken."""
        if not claims:
            return set()
        rows = await (await self._driver()).fetch(
            """INSERT INTO acknowledgements AS a (channel, address, sent_at)
               SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
               ON CONFLICT (channel, address) DO UPDATE SET sent_at = excluded.sent_at
                WHERE a.sent_at <= excluded.sent_at - $4::interval OR a.sent_at > excluded.sent_at + $4::interval
               RETURNING channel, address""",
            *_columns(sorted(claims), 3),
            every,
        )
        return {(r["channel"], r["address"]) for r in rows}

    # -- questions awaiting the customer's answer ---------------------------------------------------
    async def lock_questions(self, routes: Iterable[Route]) -> dict[Route, Question]:
        """The questions awaiting an answer on these routes, locked until the batch commits (a
        concurrent batch with another answer on the same route waits, then finds it answered)."""
        wanted = sorted(set(routes))
        if not wanted:
            return {}
        rows = await (await self._driver()).fetch(
            """SELECT a.channel, a.address, a.booking_id, a.question, a.asked_at, a.correlation_id
                 FROM awaiting_answers a
                 JOIN unnest($1::text[], $2::text[]) AS w(channel, address) USING (channel, address)
                ORDER BY a.channel, a.address FOR UPDATE OF a""",
            *_columns(wanted, 2),
        )
        return {(r["channel"], r["address"]): Question(*r.values()) for r in rows}

    async def clear_questions(self, questions: list[Question]) -> None:
        """The questions answered (their rows are locked by :meth:`lock_questions`)."""
        if questions:
            await (await self._driver()).execute(
                """DELETE FROM awaiting_answers a USING unnest($1::text[], $2::text[]) AS w(channel, address)
                    WHERE a.channel = w.channel AND a.address = w.address""",
                *_columns(sorted(q.route for q in questions), 2),
            )

    async def ask(self, question: Question) -> None:
        """A question awaits an answer on its route; it replaces an earlier one there, not a later one."""
        await (await self._driver()).execute(
            """INSERT INTO awaiting_answers (channel, address, booking_id, question, asked_at, correlation_id)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (channel, address) DO UPDATE
                  SET booking_id = excluded.booking_id, question = excluded.question,
                      asked_at = excluded.asked_at, correlation_id = excluded.correlation_id
                WHERE awaiting_answers.asked_at <= excluded.asked_at""",
            *question,
        )


_PLAIN = 12  # the inquiry's fields up to correlation_id, written as they are; the desk's follow
_INSERT_INQUIRIES = f"""INSERT INTO inquiries ({", ".join(Inquiry._fields)})
    SELECT i, ch, sr, cv, cu, it, la, su, tx, ag, ra, co, mi::jsonb, dr::jsonb, rc, rad
      FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::text[], $7::text[],
                  $8::text[], $9::text[], $10::text[], $11::timestamptz[], $12::text[], $13::text[], $14::text[],
                  $15::text[], $16::text[])
           AS u(i, ch, sr, cv, cu, it, la, su, tx, ag, ra, co, mi, dr, rc, rad)
    ON CONFLICT DO NOTHING"""
