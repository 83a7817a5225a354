"""The HTTP edge: bodies limited while read, reads that must arrive in time, abandoned uploads quiet."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shared.http_guard import EXCEPTION_HANDLERS, BodyGuard

LIMIT = 1000


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"size": len(body)})


def guarded(read_timeout: float = 1.0) -> tuple[BodyGuard, list[int]]:
    reads: list[int] = []

    async def counting(request: Request) -> JSONResponse:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            reads.append(size)
        return JSONResponse({"size": size})

    app = Starlette(
        routes=[Route("/echo", echo, methods=["POST"]), Route("/count", counting, methods=["POST"])],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    return BodyGuard(app, max_bytes=LIMIT, read_timeout=read_timeout), reads


async def call(
    app: BodyGuard, path: str, chunks: list[bytes], *, declared: int | None = None, pause: float = 0.0
) -> tuple[int | None, dict[str, Any] | None, int]:
    """POST ``chunks`` to ``app``; (status, JSON body, how many chunks the app took)."""
    headers = [(b"content-type", b"application/octet-stream")]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers, "query_string": b""}
    taken = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal taken
        if taken < len(chunks):
            if pause and taken:
                await asyncio.sleep(pause)
            taken += 1
            return {"type": "http.request", "body": chunks[taken - 1], "more_body": taken < len(chunks)}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), 5)
    status = next((m["status"] for m in sent if m["type"] == "http.response.start"), None)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, (json.loads(body) if body else None), taken


async def test_a_body_within_the_limit_reaches_the_route_whole() -> None:
    app, _ = guarded()
    status, body, _ = await call(app, "/echo", [b"a" * 600, b"b" * 400], declared=1000)
    assert (status, body) == (200, {"size": 1000})


async def test_a_body_declared_over_the_limit_is_refused_before_any_of_it_is_read() -> None:
    app, _ = guarded()
    status, body, taken = await call(app, "/echo", [b"x" * 100] * 1000, declared=100 * 1000)
    assert status == 413 and "limit of 1000 bytes" in (body or {})["error"]
    assert taken == 0


async def test_a_body_that_grows_over_the_limit_unannounced_is_refused_without_reading_the_rest() -> None:
    app, reads = guarded()
    status, _, taken = await call(app, "/count", [b"x" * 400] * 1000)  # 400 kB, no Content-Length
    assert status == 413
    assert taken == 3, "read up to the chunk that passed the limit, not one more"
    assert reads == [400, 800], "the route never saw more than the limit"


async def test_a_body_that_stops_arriving_is_answered_408() -> None:
    app, _ = guarded(read_timeout=0.2)
    status, body, taken = await call(app, "/echo", [b"x" * 10, b"y" * 10], pause=1.0)
    assert status == 408 and "0.2 s" in (body or {})["error"]
    assert taken == 1


async def test_a_client_that_goes_away_mid_upload_is_no_error() -> None:
    app, _ = guarded()
    scope = {"type": "http", "method": "POST", "path": "/echo", "headers": [], "query_string": b""}
    messages = iter([{"type": "http.request", "body": b"x" * 10, "more_body": True}, {"type": "http.disconnect"}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)  # no exception escapes to the server (which would log a traceback)
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] != [500], "not a server error"
