"""Commands over HTTP, for agents' tools: ``POST /commands/{name}`` with the command's JSON.

The command is applied exactly as one from the queue (:meth:`shared.service.Service.run_command`: the
same handler, one unit of work claiming ``command:<id>``, a refusal undoing what the handler did and
emitting ``command.rejected``), and answered with what it did:

- 200 ``{"outcome": "done", "events": [...]}`` — the events it emitted;
- 409 ``{"outcome": "refused", "reason": ...}``;
- a command id applied before is not applied again: its first answer is given again with
  ``"repeated": true`` (one that came over the queue first: ``"outcome": "already_applied"``);
- 404 for a command the service does not take, 400 for a body that is not a JSON object, 422 for an
  invalid command, 503 (``Retry-After``) while the database is away;
- 401 without a known bearer token; 403 with the reason when the token's role may not run the command
  (or that part of it: :data:`shared.authz.COMMAND_RULES`), or when the body names another ``actor``
  than the token's principal (a token marked ``delegate`` names the actor it acts for). The ``actor``
  may be left out: it is the token's principal. A forbidden command changes nothing and is not recorded.

The answers are kept in the service's own ``command_outcomes`` table (:func:`shared.db.command_outcomes_table`,
created by each service's migration), written in the command's own transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import JSONResponse

from .authz import Principal, may_run
from .availability import is_outage
from .db import command_outcomes_table
from .http import error
from .runtime import as_uuid, derive_uuid, summarise
from .service import CommandOutcome, Service
from .uow import Transaction

OUTCOMES = command_outcomes_table(sa.MetaData())


async def record_outcome(
    conn: AsyncConnection,
    command_id: str,
    command: str,
    refusal: str | None,
    events: Sequence[dict[str, Any]],
    at: datetime,
) -> None:
    await conn.execute(
        pg_insert(OUTCOMES)
        .values(command_id=command_id, command=command, refusal=refusal, events=list(events), at=at)
        .on_conflict_do_nothing()
    )


async def outcome_of(conn: AsyncConnection, command_id: str) -> Any:
    """The answer given to the command ``command_id`` posted over HTTP (a row), or None."""
    return (await conn.execute(sa.select(OUTCOMES).where(OUTCOMES.c.command_id == command_id))).first()


def serve_commands(svc: Service[Any, Any], path: str = "/commands/{name}") -> None:
    """Route ``POST path`` (bearer token) to every command the service takes (:meth:`Service.on_commands`)."""
    svc.route(path, command_endpoint(svc), ("POST",), protected=True)


def command_endpoint(svc: Service[Any, Any]) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def post_command(request: Request) -> JSONResponse:
        name = request.path_params["name"]
        model = svc.command_model(name)
        if model is None:
            return error(404, f"unknown command {name!r}")
        try:
            body = await request.json()
        except ValueError:
            return error(400, "the body is not JSON")
        if not isinstance(body, dict):
            return error(400, "the body is a command: a JSON object")
        principal: Principal = request.state.principal  # the route is protected
        if not principal.delegate:
            body.setdefault("actor", principal.id)  # the authenticated principal acts
        try:
            cmd = model.model_validate(body)
        except ValidationError as exc:
            return error(422, f"invalid {name}: {summarise(exc)}")
        refusal = may_run(principal, cmd)
        if refusal is not None:
            return JSONResponse({"error": "forbidden", "reason": refusal}, status_code=403)
        correlation_id = as_uuid(request.headers.get("x-correlation-id")) or derive_uuid("command", cmd.command_id)

        async def keep(tx: Transaction[Any], outcome: CommandOutcome) -> None:
            await record_outcome(tx.session, cmd.command_id, name, outcome.refusal, _events(outcome), tx.now)

        try:
            outcome = await svc.run_command(cmd, correlation_id=correlation_id, record=keep)
        except Exception as exc:
            if is_outage(exc):
                return JSONResponse(
                    {"error": "the database is unavailable"}, status_code=503, headers={"Retry-After": "5"}
                )
            raise
        if outcome is not None:
            return _answer(cmd.command_id, name, outcome.refusal, _events(outcome), repeated=False)
        assert svc.sessions is not None
        async with svc.sessions() as conn:
            first = await outcome_of(conn, cmd.command_id)
        if first is None:  # it came over the queue first: its effects are in the events it caused then
            return JSONResponse(
                {"command_id": cmd.command_id, "command": name, "outcome": "already_applied", "repeated": True}
            )
        return _answer(cmd.command_id, first.command, first.refusal, first.events, repeated=True)

    post_command.__doc__ = __doc__
    return post_command


def _events(outcome: CommandOutcome) -> list[dict[str, Any]]:
    return [{"type": e.type, "event_id": str(e.event_id), "data": e.data} for e in outcome.events]


def _answer(
    command_id: str, name: str, refusal: str | None, emitted: Sequence[dict[str, Any]], *, repeated: bool
) -> JSONResponse:
    body: dict[str, Any] = {"command_id": command_id, "command": name, "repeated": repeated}
    if refusal:
        return JSONResponse({**body, "outcome": "refused", "reason": refusal}, status_code=409)
    return JSONResponse({**body, "outcome": "done", "events": list(emitted)})
