"""The console: the web page the desk staff work in all day (wiring only).

A fifth service, HTTP only: no broker, no database, no session, no secret of its own, so it runs as
many replicas as wanted (``uvicorn services.console.main:app --port 8005``). It serves

- ``/``: the page (``static/``: one HTML, plain ES modules, one CSS; nothing external, no build step);
- ``/api/{service}/{path}``: the allow-listed reads and ``POST /commands/{name}`` of intake, booking,
  complaints and metrics, forwarded with the caller's own bearer token (:mod:`.proxy`);
- ``/api/me``: who the caller's token stands for (principal, role) and the poll interval;
- ``/healthz``, ``/readyz`` (the four services answer their ``/healthz``), Prometheus ``/metrics``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, get_args

import httpx
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from shared.authz import bearer_principal
from shared.contract.commands import CaseRecord, Remedy, RootCause
from shared.contract.common import Equipment
from shared.contract.desk import CallbackOutcome
from shared.http_guard import EXCEPTION_HANDLERS, BodyGuard
from shared.logs import configure_logging, get_logger

from .proxy import Metrics, Proxy
from .settings import ConsoleSettings

STATIC = Path(__file__).resolve().parent / "static"
log = get_logger(__name__)

#: the choices the page offers, from the contract (one source for each list); /api/me gives them
VOCABULARY: dict[str, list[str]] = {
    "equipment": list(get_args(Equipment)),
    "callback_outcomes": list(get_args(CallbackOutcome)),
    "remedies": list(get_args(Remedy)),
    "root_causes": list(get_args(RootCause)),
    "case_fields": list(CaseRecord.model_fields),  # the case library's record, field by field
}

#: the page runs its own files only, talks to its own origin only, and is framed by nobody
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def create_app(settings: ConsoleSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> Any:
    """The console's ASGI app; ``transport``: the upstreams' transport (tests give a mock)."""
    logging.getLogger("httpx").setLevel("WARNING")  # its INFO line is every URL, queries (a customer search) included
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    upstreams = settings.upstreams()
    client = httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(settings.upstream_timeout_seconds),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=40),
    )
    proxy = Proxy(upstreams, client, metrics)
    try:
        principals = settings.http_principals()
    except ValueError as exc:  # a malformed MEETDESK_API_TOKENS: /api/me knows nobody; the services refuse anyway
        log.error("credentials not readable: /api/me knows nobody", reason=str(exc))
        principals = {}
    if not principals:
        log.warning("no MEETDESK_API_TOKENS / MEETDESK_API_TOKEN: /api/me knows nobody")

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)

    async def me(request: Request) -> Response:
        principal = bearer_principal(request.headers.get("authorization", ""), principals)
        if principal is None:
            return JSONResponse(
                {"error": "a valid bearer token is required"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        return JSONResponse(
            {
                "principal": principal.id,
                "role": principal.role,
                "delegate": principal.delegate,
                "poll_seconds": settings.poll_seconds,
                "page_size": settings.page_size,
                "timezone": settings.venue_timezone,
                "vocabulary": VOCABULARY,
            },
            headers={"Cache-Control": "no-store"},
        )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "service": "console"})

    async def readyz(request: Request) -> Response:
        async def check(name: str, base: str) -> tuple[str, Any]:
            try:
                r = await client.get(base + "/healthz", timeout=2.0)
                return name, True if r.status_code == 200 else f"status {r.status_code}"
            except httpx.HTTPError as exc:
                return name, f"error: {type(exc).__name__}"

        checks = dict(await asyncio.gather(*(check(n, b) for n, b in upstreams.items())))
        ready = all(v is True for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    async def prometheus(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        log.info("console started", upstreams=sorted(upstreams), port=settings.http_port)
        try:
            yield
        finally:
            await client.aclose()

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", prometheus),
            Route("/api/me", me),
            Route("/api/{service}/{path:path}", proxy.forward, methods=["GET", "POST"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.proxy = proxy
    return BodyGuard(app, max_bytes=settings.max_message_bytes, read_timeout=settings.http_body_timeout_seconds)


settings = ConsoleSettings()
configure_logging("console", settings.log_level)
app = create_app(settings)
