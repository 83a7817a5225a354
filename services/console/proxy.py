"""``/api/{service}/{path}``: the page's one way to the four services.

Only the paths of :data:`ALLOWED` are forwarded (GET, and ``POST /commands/{name}``), with the
caller's own ``Authorization`` header, untouched: the console holds no secret, and each service
decides what the token may do (its 401 and 403 come back as they are). The upstream's status, JSON
body and content type pass through. A service that cannot be reached, or does not answer within
``MEETDESK_UPSTREAM_TIMEOUT_SECONDS``, is answered 503 naming it. Nothing of the customer's is logged:
the path template, the service and the status only.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shared.logs import get_logger

log = get_logger(__name__)

#: a path parameter: an id, a room, a command name (no slash, no "..")
_SEGMENT = r"(?!\.\.?(?:/|$))[A-Za-z0-9._:@~+-]{1,200}"


@dataclass(frozen=True)
class Allowed:
    method: str
    template: str  # as the service routes it, e.g. /bookings/{booking_id}

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\{[a-z_]+\}", _SEGMENT, self.template) + "$")


def _gets(*templates: str) -> tuple[Allowed, ...]:
    return tuple(Allowed("GET", t) for t in templates)


COMMANDS = Allowed("POST", "/commands/{name}")

#: what the page may ask of each service; anything else is 404 at the console
ALLOWED: dict[str, tuple[Allowed, ...]] = {
    "intake": (
        *_gets("/conversations", "/callbacks", "/inquiries", "/customers", "/customers/{customer_id}"),
        COMMANDS,
    ),
    "booking": (
        *_gets(
            "/bookings",
            "/bookings/{booking_id}",
            "/rooms",
            "/rooms/{room_id}/day",
            "/availability",
            "/waitlist",
            "/requests",
        ),
        COMMANDS,
    ),
    "complaints": (*_gets("/complaints", "/complaints/{complaint_id}", "/cases"), COMMANDS),
    "metrics": _gets("/kpis", "/scorecard", "/dashboard"),
}

#: request headers passed on (Authorization untouched); everything else stays at the console
FORWARD_REQUEST = ("authorization", "content-type", "accept", "x-correlation-id")
#: response headers passed back besides the content type
FORWARD_RESPONSE = (
    "www-authenticate",
    "retry-after",
    "content-security-policy",
    "cache-control",
    "referrer-policy",
    "x-content-type-options",
    "content-disposition",
)


def match(service: str, method: str, path: str) -> Allowed | None:
    """The allow-list entry ``method path`` of ``service`` falls under, or None."""
    for entry in ALLOWED.get(service, ()):
        if entry.method == method and entry.pattern.match(path):
            return entry
    return None


class Metrics:
    def __init__(self, registry: CollectorRegistry):
        self.requests = Counter(
            "meetdesk_console_upstream_requests",
            "Requests the console forwarded, by service, allowed path and outcome (the upstream's status, or "
            "unavailable)",
            ["service", "path", "status"],
            registry=registry,
        )
        self.seconds = Histogram(
            "meetdesk_console_upstream_seconds",
            "Time the upstream took to answer a forwarded request",
            ["service"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=registry,
        )
        self.refused = Counter(
            "meetdesk_console_refused",
            "Requests the console did not forward (not on the allow-list)",
            ["service"],
            registry=registry,
        )


class Proxy:
    def __init__(self, upstreams: Mapping[str, str], client: httpx.AsyncClient, metrics: Metrics):
        self.upstreams = dict(upstreams)
        self.client = client
        self.metrics = metrics

    async def forward(self, request: Request) -> Response:
        """Forward the request if its path is allowed (see the module)."""
        service = request.path_params["service"]
        path = "/" + request.path_params["path"]
        entry = match(service, request.method, path) if service in self.upstreams else None
        if entry is None:
            self.metrics.refused.labels(service if service in self.upstreams else "(unknown)").inc()
            return JSONResponse(
                {"error": f"the console does not forward {request.method} {path} to {service}"}, status_code=404
            )
        url = self.upstreams[service] + path + (f"?{request.url.query}" if request.url.query else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARD_REQUEST}
        body = await request.body() if request.method == "POST" else None
        started = time.perf_counter()
        try:
            upstream = await self.client.request(request.method, url, headers=headers, content=body)
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            self.metrics.requests.labels(service, entry.template, "unavailable").inc()
            log.warning("upstream unavailable", upstream=service, path=entry.template, error=type(exc).__name__)
            return JSONResponse(
                {"error": f"{service} is unavailable", "service": service},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        self.metrics.seconds.labels(service).observe(time.perf_counter() - started)
        self.metrics.requests.labels(service, entry.template, str(upstream.status_code)).inc()
        if upstream.status_code >= 500:
            log.warning("upstream error", upstream=service, path=entry.template, status=upstream.status_code)
        out = {k: v for k, v in upstream.headers.items() if k.lower() in FORWARD_RESPONSE}
        return Response(
            upstream.content,
            status_code=upstream.status_code,
            headers=out,
            media_type=upstream.headers.get("content-type", "application/json"),
        )
