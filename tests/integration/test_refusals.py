"""Input that can never succeed is refused on its first delivery, not retried: JSON nested 10⁵ deep
and a 100,000-digit number, on the commands exchange (with its command.rejected) and on the inbound
exchange (with its intake.rejected)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from shared.topology import BOOKING_COMMANDS, ERROR_HEADER, INTAKE_INBOUND

from ..conftest import System

pytestmark = pytest.mark.integration

DEEP = b'{"command_id": "deep", "actor": "x", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
HUGE = b'{"command_id": "huge", "actor": "x", "capacity": ' + b"9" * 100_000 + b"}"


async def _letters(system: System, queue: str, ids: set[str], timeout: float = 15.0) -> dict[str, dict]:
    found: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(found) < len(ids):
        for m in await system.publisher.dead_letters(queue):
            if m.message_id in ids:
                found[m.message_id] = dict(m.headers or {})
        await asyncio.sleep(0.3)
    return found


@pytest.mark.parametrize(("name", "body"), [("deep", DEEP), ("huge", HUGE)])
async def test_a_command_that_can_never_parse_is_refused_at_once_with_command_rejected(
    system: System, name: str, body: bytes
) -> None:
    message_id = f"{name}-{uuid.uuid4()}"
    await system.publisher.publish("meetdesk.commands", "rooms.upsert", body, message_id=message_id)
    letters = await _letters(system, BOOKING_COMMANDS.dead_letter_queue, {message_id})
    assert message_id in letters, "dead-lettered"
    headers = letters[message_id]
    assert int(headers.get("x-delivery-count") or 0) == 0, "on its first delivery, not after retries"
    assert "body is not acceptable JSON" in headers[ERROR_HEADER]
    (refused,) = await system.watcher.wait_for(
        lambda e: e.type == "command.rejected" and e.data["reason"] == headers[ERROR_HEADER], timeout=15
    )
    assert refused.data["command"] == "rooms.upsert"
    assert refused.data["command_id"] is None, "the id could not be read from a body that does not parse"


async def test_an_inbound_form_that_can_never_parse_is_refused_at_once_with_intake_rejected(system: System) -> None:
    message_id = f"deep-{uuid.uuid4()}"
    body = b'{"kind": "inquiry", "text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    await system.publisher.publish("meetdesk.inbound", "webform", body, message_id=message_id)
    letters = await _letters(system, INTAKE_INBOUND.dead_letter_queue, {message_id})
    assert message_id in letters
    assert int(letters[message_id].get("x-delivery-count") or 0) == 0, "on its first delivery"
    (refused,) = await system.watcher.wait_for(
        lambda e: e.type == "intake.rejected" and e.data.get("message_id") == message_id, timeout=15
    )
    assert refused.data["channel"] == "webform"
