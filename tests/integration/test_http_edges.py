"""The HTTP edge of a running service, over a real socket: a huge upload is refused without being
read, a body that stops arriving is answered 408, an abandoned upload is no error in the logs."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest

from ..conftest import System

pytestmark = pytest.mark.integration


async def _open(system: System) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = urlsplit(system.url("intake"))
    return await asyncio.open_connection(url.hostname, url.port)


def _head(system: System, length: int) -> bytes:
    return (
        "POST /inbound/webform HTTP/1.1\r\nHost: intake\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {system.token}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


async def _status(reader: asyncio.StreamReader, timeout: float) -> tuple[int, dict]:
    """The response's status and JSON body (read whole: head, then Content-Length bytes)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    lines = head.decode("latin-1").split("\r\n")
    length = next((int(x.split(":", 1)[1]) for x in lines if x.lower().startswith("content-length:")), 0)
    body = await asyncio.wait_for(reader.readexactly(length), timeout) if length else b""
    return int(lines[0].split()[1]), json.loads(body or b"{}")


async def test_a_100_mb_upload_is_refused_at_once_without_being_read(system: System) -> None:
    reader, writer = await _open(system)
    try:
        began = time.monotonic()
        writer.write(_head(system, 100 * 1024 * 1024))  # announced; not a byte of it sent
        await writer.drain()
        status, body = await _status(reader, timeout=5)
        assert status == 413 and "over the limit" in body["error"]
        assert time.monotonic() - began < 2, "answered before the body was sent, not after reading 100 MB"
    finally:
        writer.close()


async def test_a_body_that_stops_arriving_is_answered_408_and_the_connection_freed(system: System) -> None:
    reader, writer = await _open(system)
    try:
        writer.write(_head(system, 500) + b'{"kind": "inquiry"')  # and then nothing
        await writer.drain()
        began = time.monotonic()
        status, body = await _status(reader, timeout=30)
        assert status == 408, body
        assert 5 < time.monotonic() - began < 20, "after the read timeout (10 s), not at once and not never"
        assert await asyncio.wait_for(reader.read(), 5) == b"", "the connection is closed"
    finally:
        writer.close()


async def test_an_abandoned_upload_leaves_no_error_in_the_logs(system: System) -> None:
    intake = system.services["intake"]
    logs = sorted(intake.log_dir.glob("intake.*.log"))[-1]
    before = logs.stat().st_size
    _, writer = await _open(system)
    writer.write(_head(system, 5000) + b'{"kind": "inquiry", "text": "')
    await writer.drain()
    await asyncio.sleep(0.3)
    writer.close()  # the client gives up mid-upload
    await asyncio.sleep(1.0)
    with logs.open("rb") as f:
        f.seek(before)
        lines = [json.loads(line) for line in f.read().splitlines() if line.startswith(b"{")]
    assert not [line for line in lines if line.get("level") in {"error", "critical"}], lines
    assert any("went away" in line.get("event", "") for line in lines), "said once, as a warning"


async def test_availability_far_in_the_future_or_for_nobody_is_a_clear_400(system: System) -> None:
    async with httpx.AsyncClient(base_url=system.url("booking"), timeout=10) as client:
        far = await client.get(
            "/availability", params={"start": "9999-12-31T10:00:00+00:00", "end": "9999-12-31T11:00:00+00:00"}
        )
        assert far.status_code == 400 and "years ahead" in far.json()["error"]
        start = (system.now() + timedelta(days=3)).replace(hour=2, minute=0, second=0, microsecond=0)
        window = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
        nobody = await client.get("/availability", params={**window, "attendees": "-1"})
        assert nobody.status_code == 400 and "at least one attendee" in nobody.json()["error"]
        fine = await client.get("/availability", params={**window, "attendees": "2"})
        assert fine.status_code == 200, fine.text
