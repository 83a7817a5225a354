"""Replaying dead letters on the real broker: the selected ones go back to their original exchange and
routing key with their ids and bodies, each replay is recorded, and everything else stays in the
dead-letter queue in its order. No service runs here; the dead letters are put in as the dispatcher
(or the broker itself) puts them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractQueue

from shared.topology import (
    BOOKING_COMMANDS,
    COMMANDS,
    DLX,
    ERROR_HEADER,
    EVENTS,
    ORIGIN_QUEUE_HEADER,
    declare_topology,
)
from tools.dlq import REPLAYED_HEADER, ROUTING_KEY_HEADER, Selector, list_dead_letters, replay, show

from ..servers import Servers

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
# booking.commands binds booking.* and rooms.* on meetdesk.commands: a "dlqtest.…" key reaches no service
SPEC = BOOKING_COMMANDS


async def dead_letter(channel: AbstractChannel, *, message_id: str, routing_key: str, reason: str, body: bytes) -> None:
    """What Dispatcher.dead_letter publishes."""
    dlx = await channel.get_exchange(DLX)
    await dlx.publish(
        aio_pika.Message(
            body,
            headers={
                "x-delivery-count": 4,
                "x-custom": "kept",
                ERROR_HEADER: reason,
                ORIGIN_QUEUE_HEADER: SPEC.name,
                ROUTING_KEY_HEADER: routing_key,
            },
            message_id=message_id,
            correlation_id=str(uuid.uuid5(uuid.NAMESPACE_URL, message_id)),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        ),
        routing_key=SPEC.name,
    )


async def receive(queue: AbstractQueue, expected: int, timeout: float = 10.0) -> list[aio_pika.abc.AbstractMessage]:
    """What arrives in ``queue``: ``expected`` messages, then half a second more to catch extras."""
    got: list[aio_pika.abc.AbstractMessage] = []
    deadline = asyncio.get_running_loop().time() + timeout
    quiet_until = None
    while True:
        now = asyncio.get_running_loop().time()
        if now > deadline or (quiet_until is not None and now > quiet_until):
            return got
        message = await queue.get(no_ack=True, fail=False)
        if message is None:
            await asyncio.sleep(0.05)
            continue
        got.append(message)
        if len(got) >= expected and quiet_until is None:
            quiet_until = now + 0.5


async def drain(queue: AbstractQueue) -> list[aio_pika.abc.AbstractMessage]:
    """Everything in ``queue``, in order (acknowledged: it is gone afterwards)."""
    got = []
    while (message := await queue.get(no_ack=True, fail=False)) is not None:
        got.append(message)
    return got


@pytest.fixture
async def broker(servers: Servers):  # type: ignore[no-untyped-def]
    await declare_topology(servers.amqp_url, 5)
    connection = await aio_pika.connect(servers.amqp_url)
    channel = await connection.channel()
    dlq = await channel.declare_queue(SPEC.dead_letter_queue, passive=True)
    await dlq.purge()
    try:
        yield channel, dlq
    finally:
        await dlq.purge()
        await connection.close()


async def test_replay_by_reason_sends_exactly_the_matching_dead_letters_back_and_records_each(
    servers: Servers, broker
) -> None:
    channel, dlq = broker
    token = uuid.uuid4().hex[:8]
    key = f"dlqtest.{token}"
    probe = await channel.declare_queue(exclusive=True)
    await probe.bind(COMMANDS, routing_key=key)
    events = await channel.declare_queue(exclusive=True)
    await events.bind(EVENTS, routing_key="message.replayed")

    letters = []
    for i in range(6):
        broken = i % 2 == 0  # 0, 2, 4: the bug that is fixed now
        reason = f"processing failed 5 times: KeyError: room {token}-{i}" if broken else "schema validation failed"
        body = json.dumps({"command_id": f"c-{i}", "email": "chan@example.com", "n": i}).encode()
        message_id = f"{token}-{i}"
        letters.append((message_id, body, broken))
        await dead_letter(channel, message_id=message_id, routing_key=key, reason=reason, body=body)
    await asyncio.sleep(0.3)

    lines: list[str] = []
    summary = await replay(
        servers.amqp_url, SPEC.name, Selector(reason=f"keyerror: room {token}"), actor="test-ops", out=lines.append
    )

    selected = [(mid, body) for mid, body, broken in letters if broken]
    kept = [mid for mid, _, broken in letters if not broken]
    assert (summary.replayed, summary.kept, summary.failed) == (3, 3, 0)
    assert [line.split()[:2] for line in lines if line.startswith("replayed ")][:3] == [
        ["replayed", mid] for mid, _ in selected
    ]
    assert lines[-1] == f"replayed 3, kept 3 in {SPEC.dead_letter_queue}"
    assert not any("chan@example.com" in line for line in lines)

    arrived = await receive(probe, expected=3)
    assert [(m.message_id, m.body) for m in arrived] == selected, "exactly the selected ones, in their order"
    for m in arrived:
        assert m.correlation_id == str(uuid.uuid5(uuid.NAMESPACE_URL, m.message_id or ""))
        assert m.content_type == "application/json"
        assert m.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert m.routing_key == key and m.exchange == COMMANDS
        headers = dict(m.headers or {})
        assert headers.get("x-custom") == "kept" and headers.get(REPLAYED_HEADER) == 1
        assert not {ERROR_HEADER, ORIGIN_QUEUE_HEADER, ROUTING_KEY_HEADER, "x-delivery-count"} & set(headers)

    recorded = [json.loads(m.body) for m in await receive(events, expected=3)]
    mine = [e for e in recorded if e["data"]["dead_letter_queue"] == SPEC.dead_letter_queue]
    assert [e["data"]["message_id"] for e in mine] == [mid for mid, _ in selected]
    for e in mine:
        assert e["type"] == "message.replayed" and e["producer"] == "ops"
        assert e["data"]["exchange"] == COMMANDS and e["data"]["routing_key"] == key
        assert e["data"]["actor"] == "test-ops" and token in e["data"]["reason"]

    left = await drain(dlq)
    assert [m.message_id for m in left] == kept, "the others stay, in their order"
    assert all(m.headers[ERROR_HEADER] == "schema validation failed" for m in left)


async def test_replay_by_message_id_and_dry_run_leave_the_rest_untouched(servers: Servers, broker) -> None:
    channel, dlq = broker
    token = uuid.uuid4().hex[:8]
    key = f"dlqtest.{token}"
    probe = await channel.declare_queue(exclusive=True)
    await probe.bind(COMMANDS, routing_key=key)
    ids = [f"{token}-{i}" for i in range(4)]
    for mid in ids:
        await dead_letter(channel, message_id=mid, routing_key=key, reason="boom", body=mid.encode())
    await asyncio.sleep(0.3)

    dry = await replay(
        servers.amqp_url, SPEC.dead_letter_queue, Selector(everything=True), actor="t", dry_run=True, out=lambda _: None
    )
    assert (dry.replayed, dry.kept) == (4, 4)
    assert await receive(probe, expected=0, timeout=0.5) == [], "a dry run publishes nothing"

    one = await replay(
        servers.amqp_url, SPEC.name, Selector(message_ids=frozenset({ids[2]})), actor="t", out=lambda _: None
    )
    assert one.replayed_ids == [ids[2]]
    assert [m.message_id for m in await receive(probe, expected=1)] == [ids[2]]

    again = await replay(servers.amqp_url, SPEC.name, Selector(everything=True), actor="t", limit=2, out=lambda _: None)
    assert again.replayed_ids == [ids[0], ids[1]]
    assert [m.message_id for m in await receive(probe, expected=2)] == [ids[0], ids[1]]
    assert [m.message_id for m in await drain(dlq)] == [ids[3]]


async def test_a_message_the_broker_dead_lettered_goes_back_to_the_exchange_and_key_in_x_death(
    servers: Servers, broker
) -> None:
    channel, dlq = broker
    token = uuid.uuid4().hex[:8]
    key = f"dlqtest.{token}"
    # a quorum queue like the services' (delivery limit 1), dead-lettering into booking.commands.dlq
    doomed = await channel.declare_queue(f"dlqtest.{token}", durable=True, arguments=SPEC.arguments(1))
    try:
        await doomed.bind(COMMANDS, routing_key=key)
        commands = await channel.get_exchange(COMMANDS)
        await commands.publish(
            aio_pika.Message(b'{"command_id": "x"}', message_id=f"{token}-b", delivery_mode=2), routing_key=key
        )
        for _ in range(50):
            message = await doomed.get(fail=False)
            if (
                message is None
                and (await channel.declare_queue(dlq.name, passive=True)).declaration_result.message_count
            ):
                break
            if message is not None:
                await message.nack(requeue=True)  # fails, and again, until the broker gives up on it
            await asyncio.sleep(0.1)
    finally:
        await doomed.delete(if_unused=False, if_empty=False)
    probe = await channel.declare_queue(exclusive=True)
    await probe.bind(COMMANDS, routing_key=key)

    lines: list[str] = []
    assert await show(servers.amqp_url, SPEC.name, Selector(reason="delivery_limit"), out=lines.append) == 1
    assert any("broker: delivery_limit" in line for line in lines)
    summary = await replay(
        servers.amqp_url, SPEC.name, Selector(message_ids=frozenset({f"{token}-b"})), actor="t", out=lines.append
    )

    assert summary.replayed == 1
    (arrived,) = await receive(probe, expected=1)
    assert arrived.message_id == f"{token}-b" and arrived.body == b'{"command_id": "x"}'
    assert not {"x-death", "x-first-death-queue"} & set(arrived.headers or {})
    assert await drain(dlq) == []


async def test_list_counts_each_dead_letter_queue_by_reason(servers: Servers, broker) -> None:
    channel, _ = broker
    token = uuid.uuid4().hex[:8]
    for i in range(3):
        await dead_letter(
            channel,
            message_id=f"{token}-{i}",
            routing_key="rooms.upsert",
            reason=f"processing failed {i + 2} times: TimeoutError",
            body=b"{}",
        )
    await dead_letter(channel, message_id=f"{token}-x", routing_key="rooms.upsert", reason="too big", body=b"{}")
    await asyncio.sleep(0.3)
    lines: list[str] = []
    await list_dead_letters(servers.amqp_url, out=lines.append)
    block = lines[lines.index(next(x for x in lines if x.startswith(SPEC.dead_letter_queue))) :]
    assert block[0].split() == [SPEC.dead_letter_queue, "4"]
    assert block[1].split() == ["3", "processing", "failed", "<n>", "times:", "TimeoutError"]
    assert block[2].split() == ["1", "too", "big"]
    assert lines[-1].startswith("total")


def run_cli(servers: Servers, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEETDESK_AMQP_URL": servers.amqp_url}
    return subprocess.run(
        [sys.executable, "-m", "tools.dlq", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


async def test_the_command_masks_customer_data_and_refuses_unknown_queues_and_unselected_replays(
    servers: Servers, broker
) -> None:
    channel, dlq = broker
    body = json.dumps({"customer": {"email": "chan.taiman@example.com", "phone": "+852 2123 4567"}}).encode()
    await dead_letter(
        channel, message_id="cli-1", routing_key="rooms.upsert", reason="bad: chan.taiman@example.com", body=body
    )
    await asyncio.sleep(0.3)

    shown = await asyncio.to_thread(run_cli, servers, "show", SPEC.name)
    assert shown.returncode == 0, shown.stderr
    assert "message_id=cli-1" in shown.stdout
    assert "taiman" not in shown.stdout and "2123 4567" not in shown.stdout

    unknown = await asyncio.to_thread(run_cli, servers, "show", "nope.dlq")
    assert unknown.returncode == 2 and "unknown queue 'nope.dlq'" in unknown.stderr

    refused = await asyncio.to_thread(run_cli, servers, "replay", SPEC.name)
    assert refused.returncode == 2 and "refusing to replay without a selector" in refused.stderr
    assert [m.message_id for m in await drain(dlq)] == ["cli-1"], "nothing replayed, nothing lost"


async def test_the_dead_letter_queue_keeps_its_order_through_repeated_looks_and_new_arrivals(
    servers: Servers, broker
) -> None:
    channel, dlq = broker
    token = uuid.uuid4().hex[:8]
    ids = [f"{token}-{i}" for i in range(6)]
    for mid in ids[:3]:
        await dead_letter(channel, message_id=mid, routing_key="rooms.upsert", reason="first", body=b"{}")
    await asyncio.sleep(0.2)
    await show(servers.amqp_url, SPEC.name, Selector(), out=lambda _: None)
    # the look's returns travel to the queue on their own channel: let them land before the test's
    # own later arrivals (an operator's new dead letters come seconds apart, not microseconds)
    await asyncio.sleep(0.2)
    for mid in ids[3:]:
        await dead_letter(channel, message_id=mid, routing_key="rooms.upsert", reason="later", body=b"{}")
    await asyncio.sleep(0.2)
    for _ in range(2):
        await show(servers.amqp_url, SPEC.name, Selector(), out=lambda _: None)
        await list_dead_letters(servers.amqp_url, out=lambda _: None)
    assert [m.message_id for m in await drain(dlq)] == ids
