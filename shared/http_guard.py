"""The HTTP edge every service shares: request bodies are limited while they are read, and each
read must arrive in time.

An ASGI middleware in front of the routes (:class:`BodyGuard`):

- a body declared (``Content-Length``) or found, while reading, to be larger than the limit is
  answered 413 at once, without reading the rest (a 100 MB upload costs the limit, not 100 MB);
- a body whose next chunk does not arrive within the read timeout is answered 408 (slow clients
  cannot hold connections and memory for as long as they like);
- a client that goes away mid-upload is logged as a warning, once, without a traceback.

Routes read bodies as usual (``await request.body()``, ``request.json()``, ``request.stream()``):
the guard stands between them and the socket. Its refusals are exceptions raised where the route
reads; :data:`EXCEPTION_HANDLERS` (given to the Starlette app) answers them, so they never become 500s.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from .logs import get_logger

log = get_logger(__name__)

Scope = dict[str, Any]
Receive = Any
Send = Any


class BodyTooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(f"the body is over the limit of {limit} bytes")


class BodyTooSlow(Exception):
    def __init__(self, timeout: float):
        super().__init__(f"the body did not arrive within {timeout:g} s")


async def _too_large(request: Request, exc: Exception) -> Response:
    log.info("request refused at the edge", path=request.url.path, status=413)
    return JSONResponse({"error": str(exc)}, status_code=413, headers={"Connection": "close"})


async def _too_slow(request: Request, exc: Exception) -> Response:
    log.warning("request body too slow: refused", path=request.url.path, status=408)
    return JSONResponse({"error": str(exc)}, status_code=408, headers={"Connection": "close"})


async def _gone(request: Request, exc: Exception) -> Response:
    log.warning("client went away during the request", path=request.url.path)
    return Response(status_code=400)  # nobody reads it


EXCEPTION_HANDLERS: dict[Any, Any] = {BodyTooLarge: _too_large, BodyTooSlow: _too_slow, ClientDisconnect: _gone}


class BodyGuard:
    def __init__(self, app: Any, *, max_bytes: int, read_timeout: float):
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _refuse(scope, receive, send, 413, f"the body is over the limit of {self.max_bytes} bytes")
            return
        received = 0
        started = False

        async def guarded_receive() -> dict[str, Any]:
            nonlocal received
            try:
                message = await asyncio.wait_for(receive(), timeout=self.read_timeout)
            except TimeoutError:
                raise BodyTooSlow(self.read_timeout) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracked_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, tracked_send)
        except (BodyTooLarge, BodyTooSlow) as exc:  # an app without EXCEPTION_HANDLERS
            if not started:
                await _refuse(scope, None, send, 413 if isinstance(exc, BodyTooLarge) else 408, str(exc))
        except ClientDisconnect:
            log.warning("client went away during the request", path=scope.get("path"), received=received)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(scope: Scope, receive: Receive | None, send: Send, status: int, message: str) -> None:
    log.info("request refused at the edge", path=scope.get("path"), status=status)
    response = JSONResponse({"error": message}, status_code=status, headers={"Connection": "close"})
    await response(scope, receive or _nothing, send)


async def _nothing() -> dict[str, Any]:
    return {"type": "http.disconnect"}
