"""The desk's statements (issue 15), mixed into :class:`services.intake.store.IntakeStore`: one row at a
time as agents act (assign, record a call-back, complete a request, link two records, hand over), and
what the desk reads (the queues, the customer file). Plain SQL on the asyncpg connection of the unit
of work, like the rest of intake's store."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from .desk import Callback, ConversationDesk, CustomerReach, InquiryDesk, Link, reach_of


# -- the desk (issue 15): assignments, call-backs, completing requests, links, and what agents read ---
def _json(value: Any) -> Any:
    """A jsonb column read as text (whatever codec the connection has)."""
    return json.loads(value) if isinstance(value, str) else value


_CALLBACK_COLUMNS = (
    "callback_id, call_id, phone, customer_id, missed_at, correlation_id, status, attempts, last_outcome, "
    "last_note, last_attempt_at, assignee, remind_at, done_at"
)
_LINK_COLUMNS = (
    "customer_id, other_customer_id, reason, linked_by, linked_at, link_id, unlink_reason, unlinked_by, unlinked_at"
)
# a conversation as the desk lists it: its customer's name and its latest inquiry (intent, text)
_CONVERSATION_ITEM = """
SELECT c.conversation_id, c.channel, c.customer_id, cu.name AS customer_name, c.language AS conversation_language,
       c.awaiting_since, c.last_activity_at, c.assignee, c.status,
       i.inquiry_id, i.intent, i.subject, i.text, i.language
  FROM conversations c
  LEFT JOIN customers cu ON cu.customer_id = c.customer_id
  LEFT JOIN LATERAL (
        SELECT inquiry_id, intent, subject, text, language FROM inquiries
         WHERE conversation_id = c.conversation_id ORDER BY received_at DESC, inquiry_id DESC LIMIT 1
  ) i ON true"""
_INQUIRY_ITEM = """
SELECT i.inquiry_id, i.conversation_id, i.channel, i.customer_id, cu.name AS customer_name, i.intent, i.language,
       i.subject, i.text, i.received_at, i.missing::text AS missing, i.draft::text AS draft, i.completed_at,
       i.completed_by
  FROM inquiries i
  LEFT JOIN customers cu ON cu.customer_id = i.customer_id"""
_CALLBACK_ITEM = f"""
SELECT {", ".join("b." + c for c in _CALLBACK_COLUMNS.split(", "))}, cu.name AS customer_name
  FROM callbacks b
  LEFT JOIN customers cu ON cu.customer_id = b.customer_id"""


class _Where:
    """WHERE clauses with their numbered parameters."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.args: list[Any] = []

    def arg(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, clause: str) -> None:
        self.clauses.append(clause)

    def sql(self) -> str:
        return f" WHERE {' AND '.join(self.clauses)}" if self.clauses else ""


def _like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class DeskStore:
    """The desk's statements (mixed into :class:`IntakeStore`): one row at a time, as agents act."""

    _conn: AsyncConnection

    async def _driver(self) -> asyncpg.Connection:  # pragma: no cover - IntakeStore's
        raise NotImplementedError

    # -- conversations --------------------------------------------------------------------------
    async def conversation_desk(self, conversation_id: str, *, lock: bool = False) -> ConversationDesk | None:
        row = await (await self._driver()).fetchrow(
            "SELECT conversation_id, assignee FROM conversations WHERE conversation_id = $1"
            + (" FOR UPDATE" if lock else ""),
            conversation_id,
        )
        return ConversationDesk(row["conversation_id"], row["assignee"]) if row else None

    async def assign_conversation(self, conversation_id: str, agent_id: str | None, at: datetime) -> None:
        await (await self._driver()).execute(
            "UPDATE conversations SET assignee = $2, assigned_at = $3 WHERE conversation_id = $1",
            conversation_id,
            agent_id,
            at if agent_id else None,
        )

    async def answered(self, conversation_id: str) -> None:
        """The conversation no longer awaits a reply (a call-back reached the customer who called)."""
        await (await self._driver()).execute(
            "UPDATE conversations SET awaiting_since = NULL WHERE conversation_id = $1 AND awaiting_since IS NOT NULL",
            conversation_id,
        )

    # -- call-backs -----------------------------------------------------------------------------
    async def open_callback(self, cb: Callback) -> bool:
        """Record a new call-back; False when the call has one already (a repeat of its call.missed)."""
        row = await (await self._driver()).fetchrow(
            """INSERT INTO callbacks (callback_id, call_id, phone, customer_id, missed_at, correlation_id, status,
                                      attempts, remind_at)
               VALUES ($1, $2, $3, $4, $5, $6, 'open', 0, $7) ON CONFLICT DO NOTHING RETURNING callback_id""",
            cb.callback_id,
            cb.call_id,
            cb.phone,
            cb.customer_id,
            cb.missed_at,
            cb.correlation_id,
            cb.remind_at,
        )
        return row is not None

    async def callback(self, callback_id: uuid.UUID, *, lock: bool = False) -> Callback | None:
        row = await (await self._driver()).fetchrow(
            f"SELECT {_CALLBACK_COLUMNS} FROM callbacks WHERE callback_id = $1" + (" FOR UPDATE" if lock else ""),
            callback_id,
        )
        return Callback(**dict(row)) if row else None

    async def save_callback(self, cb: Callback) -> None:
        await (await self._driver()).execute(
            """UPDATE callbacks SET status = $2, attempts = $3, last_outcome = $4, last_note = $5,
                      last_attempt_at = $6, assignee = $7, remind_at = $8, done_at = $9
                WHERE callback_id = $1""",
            cb.callback_id,
            cb.status,
            cb.attempts,
            cb.last_outcome,
            cb.last_note,
            cb.last_attempt_at,
            cb.assignee,
            cb.remind_at,
            cb.done_at,
        )

    # -- incomplete booking requests ----------------------------------------------------------------
    async def inquiry_desk(self, inquiry_id: uuid.UUID, *, lock: bool = False) -> InquiryDesk | None:
        row = await (await self._driver()).fetchrow(
            """SELECT inquiry_id, channel, customer_id, intent, language, missing::text AS missing, reply_channel,
                      reply_address, correlation_id, completed_at, completed_by
                 FROM inquiries WHERE inquiry_id = $1"""
            + (" FOR UPDATE" if lock else ""),
            inquiry_id,
        )
        if row is None:
            return None
        return InquiryDesk(**{**dict(row), "missing": list(_json(row["missing"]) or [])})

    async def complete_inquiry(self, inquiry_id: uuid.UUID, actor: str, at: datetime) -> None:
        await (await self._driver()).execute(
            "UPDATE inquiries SET completed_at = $2, completed_by = $3 WHERE inquiry_id = $1", inquiry_id, at, actor
        )

    # -- booking on a customer's behalf -----------------------------------------------------------
    async def customer_reach(self, customer_id: uuid.UUID) -> CustomerReach | None:
        """How a known customer can be answered (:func:`desk.reach_of`); None: no such customer."""
        pg = await self._driver()
        if await pg.fetchval("SELECT 1 FROM customers WHERE customer_id = $1", customer_id) is None:
            return None
        identities = await pg.fetch(
            "SELECT kind, value FROM identities WHERE customer_id = $1 ORDER BY created_at DESC, kind, value",
            customer_id,
        )
        # each channel's latest conversation, the latest first
        conversations = await pg.fetch(
            """SELECT * FROM (
                   SELECT DISTINCT ON (channel) channel, conversation_id, language, last_activity_at
                     FROM conversations WHERE customer_id = $1
                    ORDER BY channel, last_activity_at DESC, conversation_id DESC) latest
                ORDER BY last_activity_at DESC, conversation_id DESC""",
            customer_id,
        )
        language = await pg.fetchval(
            "SELECT language FROM inquiries WHERE customer_id = $1 ORDER BY received_at DESC LIMIT 1", customer_id
        )
        return reach_of(
            customer_id,
            [(r["kind"], r["value"]) for r in identities],
            [(r["channel"], r["conversation_id"], r["language"]) for r in conversations],
            language,
        )

    # -- links between customer records -----------------------------------------------------------
    async def lock_customers(self, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """The customers among ``ids`` that exist, locked (in key order) until the transaction ends:
        two agents linking the same pair wait for each other."""
        rows = await (await self._driver()).fetch(
            "SELECT customer_id FROM customers WHERE customer_id = ANY($1::uuid[]) ORDER BY customer_id FOR UPDATE",
            sorted(set(ids)),
        )
        return {r["customer_id"] for r in rows}

    async def links_of(self, ids: Iterable[uuid.UUID]) -> list[Link]:
        """Every link (active or undone) involving one of ``ids``, oldest first."""
        rows = await (await self._driver()).fetch(
            f"""SELECT {_LINK_COLUMNS} FROM customer_links
                 WHERE customer_id = ANY($1::uuid[]) OR other_customer_id = ANY($1::uuid[]) ORDER BY link_id""",
            sorted(set(ids)),
        )
        return [Link(**dict(r)) for r in rows]

    async def add_link(self, link: Link) -> None:
        await (await self._driver()).execute(
            """INSERT INTO customer_links (customer_id, other_customer_id, reason, linked_by, linked_at)
               VALUES ($1, $2, $3, $4, $5)""",
            link.customer_id,
            link.other_customer_id,
            link.reason,
            link.linked_by,
            link.linked_at,
        )

    async def end_link(self, link: Link) -> None:
        await (await self._driver()).execute(
            """UPDATE customer_links SET unlink_reason = $2, unlinked_by = $3, unlinked_at = $4
                WHERE link_id = $1 AND unlinked_at IS NULL""",
            link.link_id,
            link.unlink_reason,
            link.unlinked_by,
            link.unlinked_at,
        )

    # -- handover -------------------------------------------------------------------------------
    async def hand_over(self, from_agent: str, to_agent: str, at: datetime) -> tuple[int, int]:
        """Every open conversation and open call-back of ``from_agent`` becomes ``to_agent``'s: the counts."""
        pg = await self._driver()
        # locked in key order first, as intake's batches lock conversations: the two wait, never deadlock
        conversations = await pg.fetch(
            """WITH moving AS (
                   SELECT conversation_id FROM conversations
                    WHERE assignee = $1 AND status NOT IN ('resolved', 'closed')
                    ORDER BY conversation_id FOR UPDATE)
               UPDATE conversations c SET assignee = $2, assigned_at = $3
                 FROM moving m WHERE c.conversation_id = m.conversation_id AND c.assignee = $1
               RETURNING c.conversation_id""",
            from_agent,
            to_agent,
            at,
        )
        callbacks = await pg.fetch(
            "UPDATE callbacks SET assignee = $2 WHERE assignee = $1 AND status = 'open' RETURNING callback_id",
            from_agent,
            to_agent,
        )
        return len(conversations), len(callbacks)

    # -- what agents read -------------------------------------------------------------------------
    async def desk_conversations(
        self,
        *,
        awaiting: bool,
        assignee: str | None = None,
        channel: str | None = None,
        customer_ids: Sequence[uuid.UUID] | None = None,
        limit: int = 50,
        after: tuple[datetime, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Awaiting a reply (oldest wait first), or all open ones (latest activity first); ``assignee``:
        an agent, or ``"none"`` for nobody's; ``customer_ids``: theirs (any status, latest first)."""
        w = _Where()
        if customer_ids is not None:
            w.add(f"c.customer_id = ANY({w.arg(list(customer_ids))}::uuid[])")
        elif awaiting:
            w.add("c.awaiting_since IS NOT NULL")
        else:
            w.add("c.status NOT IN ('resolved', 'closed')")
        if assignee == "none":
            w.add("c.assignee IS NULL")
        elif assignee:
            w.add(f"c.assignee = {w.arg(assignee)}")
        if channel:
            w.add(f"c.channel = {w.arg(channel)}")
        if awaiting and customer_ids is None:
            if after:
                w.add(f"(c.awaiting_since, c.conversation_id) > ({w.arg(after[0])}, {w.arg(after[1])})")
            order = "c.awaiting_since, c.conversation_id"
        else:
            if after:
                w.add(f"(c.last_activity_at, c.conversation_id) < ({w.arg(after[0])}, {w.arg(after[1])})")
            order = "c.last_activity_at DESC, c.conversation_id DESC"
        rows = await (await self._driver()).fetch(
            f"{_CONVERSATION_ITEM}{w.sql()} ORDER BY {order} LIMIT {w.arg(limit)}", *w.args
        )
        return [dict(r) for r in rows]

    async def desk_inquiries(
        self,
        *,
        incomplete: bool = False,
        intent: str | None = None,
        customer_ids: Sequence[uuid.UUID] | None = None,
        limit: int = 50,
        after: tuple[datetime, uuid.UUID] | None = None,
    ) -> list[dict[str, Any]]:
        """Inquiries, latest first; ``incomplete``: booking requests lacking something, not completed."""
        w = _Where()
        if incomplete:
            w.add("i.intent = 'booking_request' AND i.missing <> '[]'::jsonb AND i.completed_at IS NULL")
        if intent:
            w.add(f"i.intent = {w.arg(intent)}")
        if customer_ids is not None:
            w.add(f"i.customer_id = ANY({w.arg(list(customer_ids))}::uuid[])")
        if after:
            w.add(f"(i.received_at, i.inquiry_id) < ({w.arg(after[0])}, {w.arg(after[1])}::uuid)")
        rows = await (await self._driver()).fetch(
            f"{_INQUIRY_ITEM}{w.sql()} ORDER BY i.received_at DESC, i.inquiry_id DESC LIMIT {w.arg(limit)}", *w.args
        )
        return [{**dict(r), "missing": _json(r["missing"]) or [], "draft": _json(r["draft"])} for r in rows]

    async def desk_callbacks(
        self,
        *,
        status: str | None = None,
        assignee: str | None = None,
        customer_ids: Sequence[uuid.UUID] | None = None,
        limit: int = 50,
        after: tuple[datetime, uuid.UUID] | None = None,
    ) -> list[dict[str, Any]]:
        """Call-backs, oldest missed call first."""
        w = _Where()
        if status:
            w.add(f"b.status = {w.arg(status)}")
        if assignee == "none":
            w.add("b.assignee IS NULL")
        elif assignee:
            w.add(f"b.assignee = {w.arg(assignee)}")
        if customer_ids is not None:
            w.add(f"b.customer_id = ANY({w.arg(list(customer_ids))}::uuid[])")
        if after:
            w.add(f"(b.missed_at, b.callback_id) > ({w.arg(after[0])}, {w.arg(after[1])}::uuid)")
        rows = await (await self._driver()).fetch(
            f"{_CALLBACK_ITEM}{w.sql()} ORDER BY b.missed_at, b.callback_id LIMIT {w.arg(limit)}", *w.args
        )
        return [dict(r) for r in rows]

    async def find_customers(self, q: str, *, phone: str | None, limit: int) -> list[dict[str, Any]]:
        """Customers whose name or an identity contains ``q`` (or whose phone is ``phone``, normalised,
        or whose id is ``q``), newest first, with their identities."""
        pg = await self._driver()
        exact = [q, q.lower()] + ([phone] if phone else [])
        as_id = None
        try:
            as_id = uuid.UUID(q)
        except ValueError:
            pass
        rows = await pg.fetch(
            """SELECT c.customer_id, c.name, c.created_at FROM customers c
                WHERE c.customer_id = $4::uuid
                   OR c.name ILIKE $1
                   OR EXISTS (SELECT 1 FROM identities i WHERE i.customer_id = c.customer_id
                               AND (i.value = ANY($2::text[]) OR (length($3) >= 3 AND i.value ILIKE $1)))
                ORDER BY c.created_at DESC, c.customer_id LIMIT $5""",
            _like(q),
            exact,
            q,
            as_id,
            limit,
        )
        return [dict(r) for r in rows]

    async def customer_rows(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
        rows = await (await self._driver()).fetch(
            "SELECT customer_id, name, created_at FROM customers WHERE customer_id = ANY($1::uuid[])", list(ids)
        )
        return {r["customer_id"]: dict(r) for r in rows}

    async def identities_of(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, str]]]:
        rows = await (await self._driver()).fetch(
            """SELECT customer_id, kind, value FROM identities WHERE customer_id = ANY($1::uuid[])
                ORDER BY created_at, kind, value""",
            list(ids),
        )
        out: dict[uuid.UUID, list[dict[str, str]]] = {}
        for r in rows:
            out.setdefault(r["customer_id"], []).append({"kind": r["kind"], "value": r["value"]})
        return out
