"""Least privilege on the running system: a command is run only by a principal whose role may run it,
authenticated by the broker (the AMQP user_id, checked by RabbitMQ against the connection's user) or
by an HTTP bearer token; the actor recorded is the authenticated one."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import httpx
import pytest
import pytest_asyncio

from shared.topology import BOOKING_COMMANDS, COMMANDS

from ..conftest import System
from ..system import (
    AGENT_BROKER_PRINCIPAL,
    AGENT_BROKER_USER,
    AGENT_PRINCIPAL,
    AGENT_TOKEN,
    Publisher,
    add_broker_user,
)
from .test_commands import _registered_complaint

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def agent_broker_url(system: System) -> str:
    """AGENT_BROKER_USER (mapped to an agent), allowed to write to meetdesk.commands only: its AMQP URL."""
    return add_broker_user(system.servers, AGENT_BROKER_USER, uuid.uuid4().hex, write=f"^{COMMANDS}$")


@pytest_asyncio.fixture
async def agent_broker(system: System, agent_broker_url: str) -> AsyncIterator[Publisher]:
    """A publisher connected as AGENT_BROKER_USER."""
    publisher = Publisher(system.servers, amqp_url=agent_broker_url)
    await publisher.start()
    try:
        yield publisher
    finally:
        await publisher.stop()


async def _rejection(system: System, command_id: str) -> str:
    (rejected,) = await system.watcher.wait_for(
        lambda e: e.type == "command.rejected" and e.data["command_id"] == command_id
    )
    return str(rejected.data["reason"])


async def test_a_command_from_a_broker_user_without_the_role_is_refused_and_changes_nothing(
    system: System, agent_broker: Publisher
) -> None:
    room = f"authz-{uuid.uuid4().hex[:8]}"
    upsert: dict[str, Any] = {"room_id": room, "name": room, "capacity": 8}
    as_agent = await agent_broker.command("rooms.upsert", actor=AGENT_BROKER_PRINCIPAL, **upsert)
    unsigned = await system.publisher.command("rooms.upsert", user_id=None, **upsert)
    # the agent's own work passes the check and reaches booking, which answers for itself
    allowed = await agent_broker.command("booking.cancel", actor=AGENT_BROKER_PRINCIPAL, booking_id=f"no-{room}")
    impostor = await agent_broker.command("booking.cancel", actor="someone-else", booking_id=f"no-{room}")

    assert await _rejection(system, as_agent) == (
        f"forbidden: {AGENT_BROKER_PRINCIPAL} (role agent) may not run rooms.upsert: it needs ops"
    )
    assert (await _rejection(system, unsigned)).startswith("unauthenticated: a command needs the AMQP user_id")
    assert "may not run" not in (reason := await _rejection(system, allowed)) and f"no-{room}" in reason
    assert await _rejection(system, impostor) == (
        f"forbidden: the actor must be the authenticated principal {AGENT_BROKER_PRINCIPAL!r}, not 'someone-else'"
    )

    await asyncio.sleep(0.5)
    assert not system.watcher.matching(lambda e: e.type == "room.updated" and e.data["room_id"] == room)
    assert await system.query("booking", "SELECT 1 FROM rooms WHERE room_id = $1", room) == []
    letters = {m.message_id: m for m in await system.publisher.dead_letters(BOOKING_COMMANDS.dead_letter_queue)}
    assert {as_agent, unsigned, impostor} <= set(letters), "refused like any other unacceptable command"
    assert allowed not in letters, "a handler's refusal is an answer, not a dead letter"
    assert letters[as_agent].headers["x-meetdesk-user-id"] == AGENT_BROKER_USER


async def test_the_broker_refuses_a_user_id_that_is_not_the_connections_own(
    system: System, agent_broker: Publisher
) -> None:
    with pytest.raises(aio_pika.exceptions.ChannelClosed, match="user_id property set to 'guest'"):
        await agent_broker.command("rooms.upsert", user_id="guest", room_id="r", name="r", capacity=1)


async def _post(system: System, command: str, body: dict[str, Any], token: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(
            f"{system.url('complaints')}/commands/{command}",
            json={"command_id": str(uuid.uuid4()), **body},
            headers={"Authorization": f"Bearer {token}"},
        )


async def _claimed(system: System, response: httpx.Response) -> bool:
    """Whether the command posted in ``response``'s request was applied (its id claimed in the inbox)."""
    command_id = json.loads(response.request.content)["command_id"]
    return bool(await system.query("complaints", "SELECT 1 FROM inbox WHERE message_id = $1", f"command:{command_id}"))


async def test_over_http_an_agent_token_may_not_override_and_the_recorded_actor_is_the_token_principal(
    system: System,
) -> None:
    cid = (await _registered_complaint(system))["complaint_id"]

    override = await _post(
        system, "complaint.close", {"complaint_id": cid, "override_reason": "customer unreachable"}, AGENT_TOKEN
    )
    assert override.status_code == 403, override.text
    assert "override_reason" in override.json()["reason"] and "needs supervisor or ops" in override.json()["reason"]
    impostor = await _post(system, "complaint.acknowledge", {"complaint_id": cid, "actor": "sup-1"}, AGENT_TOKEN)
    assert impostor.status_code == 403 and "authenticated principal" in impostor.json()["reason"]
    unknown = await _post(system, "complaint.acknowledge", {"complaint_id": cid}, "not-a-token-anyone-was-given")
    assert unknown.status_code == 401
    assert not await _claimed(system, override) and not await _claimed(system, impostor), "never applied"
    rows = await system.query("complaints", "SELECT status FROM complaints WHERE complaint_id = $1", cid)
    assert [r["status"] for r in rows] == ["registered"]

    ack = await _post(system, "complaint.acknowledge", {"complaint_id": cid, "note": "called back"}, AGENT_TOKEN)
    assert ack.status_code == 200 and ack.json()["outcome"] == "done", ack.text
    assert await _claimed(system, ack)
    (changed,) = [e for e in ack.json()["events"] if e["type"] == "complaint.status_changed"]
    assert changed["data"]["actor"] == AGENT_PRINCIPAL
    history = await system.query(
        "complaints", "SELECT actor FROM complaint_history WHERE complaint_id = $1 ORDER BY id", cid
    )
    assert history[-1]["actor"] == AGENT_PRINCIPAL
