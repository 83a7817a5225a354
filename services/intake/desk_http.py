"""What the desk reads from intake over HTTP (issue 15): the queues and the customer file.

- ``GET /conversations?awaiting=true&assignee=<agent|none>&channel=&limit=50&cursor=``
- ``GET /callbacks?status=open|done&assignee=<agent|none>&limit=&cursor=``
- ``GET /inquiries?incomplete=true&intent=&customer_id=&limit=&cursor=``
- ``GET /customers?q=&limit=20`` and ``GET /customers/{customer_id}``

Every path needs a bearer token of an agent (or above: :data:`shared.authz.PATH_RULES`). Lists answer
``{"items": [...], "next": <cursor or null>}``; times are ISO 8601. The waiting time of a conversation
is counted by the service's clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, get_args

from starlette.requests import Request
from starlette.responses import JSONResponse

from shared.contract.common import Channel, Intent
from shared.http import BadQuery, error, next_cursor, page_cursor, page_limit
from shared.service import Service

from . import desk
from .normalise import InvalidIdentity, normalise_phone
from .store import IntakeStore

MAX_PAGE = 200
TEXT_CHARS = 280  # the latest customer text a queue shows
FILE_ITEMS = 50  # a customer file's conversations, inquiries and call-backs
CHANNELS = get_args(Channel)
INTENTS = get_args(Intent)


def _bool(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise BadQuery(f"{name} is true or false")
    return raw in ("true", "1", "yes")


def _choice(request: Request, name: str, allowed: Sequence[str]) -> str | None:
    raw = request.query_params.get(name) or None
    if raw is not None and raw not in allowed:
        raise BadQuery(f"{name} is one of {', '.join(allowed)}")
    return raw


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def _str(value: Any) -> str | None:
    return str(value) if value is not None else None


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    return value if len(value) <= TEXT_CHARS else value[: TEXT_CHARS - 1] + "…"


def conversation_json(r: dict[str, Any], now: datetime) -> dict[str, Any]:
    since = r["awaiting_since"]
    return {
        "conversation_id": r["conversation_id"],
        "channel": r["channel"],
        "customer_id": _str(r["customer_id"]),
        "customer_name": r["customer_name"],
        "language": r["language"] or r["conversation_language"],
        "intent": r["intent"],
        "subject": r["subject"],
        "text": _text(r["text"]),
        "inquiry_id": _str(r["inquiry_id"]),
        "awaiting_since": _iso(since),
        "waiting_seconds": max(0, int((now - since).total_seconds())) if since else None,
        "assignee": r["assignee"],
        "status": r["status"],
        "last_activity_at": _iso(r["last_activity_at"]),
    }


def inquiry_json(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "inquiry_id": str(r["inquiry_id"]),
        "conversation_id": r["conversation_id"],
        "channel": r["channel"],
        "customer_id": _str(r["customer_id"]),
        "customer_name": r["customer_name"],
        "intent": r["intent"],
        "language": r["language"],
        "subject": r["subject"],
        "text": r["text"],
        "received_at": _iso(r["received_at"]),
        "missing": list(r["missing"] or []),
        "draft": r["draft"],
        "completed_at": _iso(r["completed_at"]),
        "completed_by": r["completed_by"],
    }


def callback_json(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "callback_id": str(r["callback_id"]),
        "call_id": r["call_id"],
        "phone": r["phone"],
        "customer_id": _str(r["customer_id"]),
        "customer_name": r["customer_name"],
        "missed_at": _iso(r["missed_at"]),
        "attempts": r["attempts"],
        "last_outcome": r["last_outcome"],
        "last_note": r["last_note"],
        "last_attempt_at": _iso(r["last_attempt_at"]),
        "status": r["status"],
        "assignee": r["assignee"],
        "remind_at": _iso(r["remind_at"]),
        "done_at": _iso(r["done_at"]),
    }


def serve_desk(svc: Service[IntakeStore, Any], phone_region: Callable[[], str]) -> None:
    """Route the desk's reads on ``svc`` (all protected: an agent's token or above)."""

    def sessions() -> Any:
        assert svc.sessions is not None, "the service has not started"
        return svc.sessions()

    async def list_conversations(request: Request) -> JSONResponse:
        """Conversations awaiting a reply, oldest wait first (``awaiting=true``), or all open ones,
        latest activity first; ``assignee``: an agent or ``none``; ``channel``."""
        try:
            awaiting = _bool(request, "awaiting")
            channel = _choice(request, "channel", CHANNELS)
            limit = page_limit(request, default=50, most=MAX_PAGE)
            cursor = page_cursor(request)
        except BadQuery as exc:
            return error(400, str(exc))
        after = (datetime.fromisoformat(cursor[0]), cursor[1]) if cursor else None
        async with sessions() as conn, conn.begin():
            rows = await IntakeStore(conn).desk_conversations(
                awaiting=awaiting,
                assignee=request.query_params.get("assignee") or None,
                channel=channel,
                limit=limit,
                after=after,
            )
        now = svc.clock.now()
        last = rows[-1] if len(rows) == limit else None
        key = "awaiting_since" if awaiting else "last_activity_at"
        return JSONResponse(
            {
                "items": [conversation_json(r, now) for r in rows],
                "next": next_cursor([last[key].isoformat(), last["conversation_id"]] if last else None),
            }
        )

    async def list_callbacks(request: Request) -> JSONResponse:
        """Call-backs, oldest missed call first; ``status``: open or done; ``assignee``: an agent or ``none``."""
        try:
            status = _choice(request, "status", ("open", "done"))
            limit = page_limit(request, default=50, most=MAX_PAGE)
            cursor = page_cursor(request)
            after = (datetime.fromisoformat(cursor[0]), uuid.UUID(cursor[1])) if cursor else None
        except (BadQuery, ValueError) as exc:
            return error(400, str(exc))
        async with sessions() as conn, conn.begin():
            rows = await IntakeStore(conn).desk_callbacks(
                status=status, assignee=request.query_params.get("assignee") or None, limit=limit, after=after
            )
        last = rows[-1] if len(rows) == limit else None
        return JSONResponse(
            {
                "items": [callback_json(r) for r in rows],
                "next": next_cursor([last["missed_at"].isoformat(), last["callback_id"]] if last else None),
            }
        )

    async def list_inquiries(request: Request) -> JSONResponse:
        """Inquiries, latest first; ``incomplete=true``: booking requests lacking something, not yet
        completed; ``intent``; ``customer_id``."""
        try:
            incomplete = _bool(request, "incomplete")
            intent = _choice(request, "intent", INTENTS)
            limit = page_limit(request, default=50, most=MAX_PAGE)
            cursor = page_cursor(request)
            after = (datetime.fromisoformat(cursor[0]), uuid.UUID(cursor[1])) if cursor else None
            raw_customer = request.query_params.get("customer_id")
            customer = uuid.UUID(raw_customer) if raw_customer else None
        except (BadQuery, ValueError) as exc:
            return error(400, str(exc))
        async with sessions() as conn, conn.begin():
            rows = await IntakeStore(conn).desk_inquiries(
                incomplete=incomplete,
                intent=intent,
                customer_ids=[customer] if customer else None,
                limit=limit,
                after=after,
            )
        last = rows[-1] if len(rows) == limit else None
        return JSONResponse(
            {
                "items": [inquiry_json(r) for r in rows],
                "next": next_cursor([last["received_at"].isoformat(), last["inquiry_id"]] if last else None),
            }
        )

    async def find_customers(request: Request) -> JSONResponse:
        """Customers by name, email, phone or channel id (``q``), with their identities and links."""
        q = (request.query_params.get("q") or "").strip()
        try:
            limit = page_limit(request, default=20, most=MAX_PAGE)
        except BadQuery as exc:
            return error(400, str(exc))
        if not q:
            return error(400, "q is required: a name, an email address, a phone number or a channel id")
        try:
            phone = normalise_phone(q, phone_region()) if any(c.isdigit() for c in q) else None
        except InvalidIdentity:
            phone = None
        async with sessions() as conn, conn.begin():
            store = IntakeStore(conn)
            rows = await store.find_customers(q, phone=phone, limit=limit)
            ids = [r["customer_id"] for r in rows]
            identities = await store.identities_of(ids)
            links = await store.links_of(ids) if ids else []
        return JSONResponse(
            {
                "items": [
                    {
                        "customer_id": str(r["customer_id"]),
                        "name": r["name"],
                        "identities": identities.get(r["customer_id"], []),
                        "linked": [str(c) for c in desk.linked_to(r["customer_id"], links)],
                    }
                    for r in rows
                ],
                "next": None,
            }
        )

    async def customer_file(request: Request) -> JSONResponse:
        """The customer file: identities, links and their history, and the conversations, inquiries and
        call-backs of the customer and of the records linked to it (each item keeps its own customer_id)."""
        customer_id = desk.parse_customer_id(request.path_params["customer_id"])
        if customer_id is None:
            return error(404, "no such customer")
        async with sessions() as conn, conn.begin():
            store = IntakeStore(conn)
            found = await store.customer_rows([customer_id])
            if customer_id not in found:
                return error(404, "no such customer")
            links = await store.links_of([customer_id])
            linked = desk.linked_to(customer_id, links)
            everyone = [customer_id, *linked]
            others = await store.customer_rows(linked)
            identities = await store.identities_of([customer_id])
            conversations = await store.desk_conversations(awaiting=False, customer_ids=everyone, limit=FILE_ITEMS)
            inquiries = await store.desk_inquiries(customer_ids=everyone, limit=FILE_ITEMS)
            callbacks = await store.desk_callbacks(customer_ids=everyone, limit=FILE_ITEMS)
            reach = await store.customer_reach(customer_id)
        me = found[customer_id]
        now = svc.clock.now()
        active = {x.other_customer_id if x.customer_id == customer_id else x.customer_id: x for x in links if x.active}
        return JSONResponse(
            {
                "customer_id": str(customer_id),
                "name": me["name"],
                "created_at": _iso(me["created_at"]),
                "identities": identities.get(customer_id, []),
                # the channels customer.book can answer them on (the first: where it goes by default)
                "reply_channels": desk.reply_channels(reach) if reach else [],
                "linked": [
                    {
                        "customer_id": str(other),
                        "name": others.get(other, {}).get("name"),
                        "reason": active[other].reason,
                        "by": active[other].linked_by,
                        "at": active[other].linked_at.isoformat(),
                    }
                    for other in linked
                ],
                "links_history": desk.history_of(customer_id, links),
                "conversations": [conversation_json(r, now) for r in conversations],
                "inquiries": [inquiry_json(r) for r in inquiries],
                "callbacks": [callback_json(r) for r in callbacks],
            }
        )

    svc.route("/conversations", list_conversations, protected=True)
    svc.route("/callbacks", list_callbacks, protected=True)
    svc.route("/inquiries", list_inquiries, protected=True)
    svc.route("/customers", find_customers, protected=True)
    svc.route("/customers/{customer_id}", customer_file, protected=True)
