"""The console's server: it forwards only the allow-listed paths, with the caller's own token untouched;
the services' answers (401 and 403 too) come back as they are; a service that is down is a 503 naming it;
/api/me says who a token stands for; /readyz asks the four services."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from services.console.main import VOCABULARY, create_app
from services.console.proxy import ALLOWED, match
from services.console.settings import ConsoleSettings

AGENT_TOKEN = "console-agent-token-0123"
SUPERVISOR_TOKEN = "console-supervisor-token-0123"
TOKENS = {
    AGENT_TOKEN: {"principal": "amy", "role": "agent"},
    SUPERVISOR_TOKEN: {"principal": "sam", "role": "supervisor"},
}


def settings(**extra: Any) -> ConsoleSettings:
    return ConsoleSettings(
        api_tokens=json.dumps(TOKENS),
        intake_url="http://intake.test:8001",
        booking_url="http://booking.test:8002/",
        complaints_url="http://complaints.test:8003",
        metrics_url="http://metrics.test:8004",
        **extra,
    )


Handler = Callable[[httpx.Request], httpx.Response]


def console(handler: Handler, **extra: Any) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    app = create_app(settings(**extra), transport=httpx.MockTransport(upstream))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test")
    return client, seen


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"items": [], "next": None, "path": request.url.path})


async def test_a_read_is_forwarded_to_its_service_with_the_query_and_the_callers_token_unchanged() -> None:
    client, seen = console(ok)
    async with client:
        r = await client.get(
            "/api/intake/conversations?awaiting=true&assignee=amy&limit=50",
            headers={"Authorization": f"Bearer {AGENT_TOKEN}", "Cookie": "x=1", "X-Forwarded-For": "1.2.3.4"},
        )
    assert r.status_code == 200 and r.json()["path"] == "/conversations"
    (up,) = seen
    assert str(up.url) == "http://intake.test:8001/conversations?awaiting=true&assignee=amy&limit=50"
    assert up.headers["authorization"] == f"Bearer {AGENT_TOKEN}"
    assert "cookie" not in up.headers and "x-forwarded-for" not in up.headers  # nothing else leaves the console


async def test_a_command_is_posted_with_its_body_as_it_came() -> None:
    client, seen = console(lambda req: httpx.Response(200, json={"outcome": "done", "events": []}))
    body = {"command_id": "c-1", "actor": "amy", "complaint_id": "x", "note": "已致電客戶"}
    async with client:
        r = await client.post(
            "/api/complaints/commands/complaint.acknowledge",
            json=body,
            headers={"Authorization": f"Bearer {AGENT_TOKEN}"},
        )
    assert r.status_code == 200 and r.json()["outcome"] == "done"
    (up,) = seen
    assert up.method == "POST" and str(up.url) == "http://complaints.test:8003/commands/complaint.acknowledge"
    assert json.loads(up.content) == body and up.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/intake/inbound/webform"),  # the web ingress is not the desk's
        ("POST", "/api/intake/inbound/webform"),
        ("GET", "/api/booking/metrics"),
        ("GET", "/api/complaints/review"),
        ("POST", "/api/booking/bookings"),  # only commands are posted
        ("GET", "/api/booking/bookings/%2e%2e"),
        ("GET", "/api/booking/rooms/a/b/day"),
        ("GET", "/api/metrics/kpis.csv"),
        ("GET", "/api/ops/anything"),  # no such service
        ("GET", "/api/complaints/commands/complaint.note"),  # commands are posted, not read
    ],
)
async def test_paths_off_the_allow_list_are_not_forwarded(method: str, path: str) -> None:
    client, seen = console(ok)
    async with client:
        r = await client.request(method, path, headers={"Authorization": f"Bearer {AGENT_TOKEN}"}, json={})
    assert r.status_code == 404 and seen == []


def test_the_allow_list_takes_ids_but_not_slashes_or_dot_segments() -> None:
    assert match("booking", "GET", "/rooms/room-3.A/day") is not None
    assert match("booking", "GET", "/bookings/6f1c9c1e-4a57-4bfa-9c1e-0d8f1f0f3a9b") is not None
    assert match("booking", "GET", "/rooms/../day") is None
    assert match("booking", "GET", "/bookings/..") is None
    assert match("intake", "POST", "/commands/inquiry.complete") is not None
    assert {e.template for e in ALLOWED["metrics"]} == {"/kpis", "/scorecard", "/dashboard"}


@pytest.mark.parametrize("status", [401, 403, 404, 409, 422])
async def test_the_services_refusals_come_back_as_they_are(status: int) -> None:
    answer = {"error": "forbidden", "reason": "amy (role agent) may not run complaint.handover"}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    client, _ = console(lambda req: httpx.Response(status, json=answer, headers=headers))
    async with client:
        r = await client.post(
            "/api/complaints/commands/complaint.handover", json={}, headers={"Authorization": "Bearer nobody"}
        )
    assert r.status_code == status and r.json() == answer
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"


async def test_a_call_without_a_token_is_forwarded_without_one_and_the_service_says_401() -> None:
    def service(req: httpx.Request) -> httpx.Response:
        if "authorization" not in req.headers:
            return httpx.Response(401, json={"error": "a valid bearer token is required"})
        return ok(req)

    client, seen = console(service)
    async with client:
        r = await client.get("/api/booking/bookings")
    assert r.status_code == 401 and "authorization" not in seen[0].headers


@pytest.mark.parametrize(
    "failure", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("cut")]
)
async def test_a_service_that_is_down_or_silent_is_a_503_naming_it(failure: Exception) -> None:
    def down(req: httpx.Request) -> httpx.Response:
        raise failure

    client, _ = console(down)
    async with client:
        r = await client.get(
            "/api/booking/bookings?date=2026-11-27", headers={"Authorization": f"Bearer {AGENT_TOKEN}"}
        )
        metrics = await client.get("/metrics")
    assert r.status_code == 503
    assert r.json() == {"error": "booking is unavailable", "service": "booking"}
    assert 'meetdesk_console_upstream_requests_total{path="/bookings",service="booking",status="unavailable"} 1.0' in (
        metrics.text
    )


async def test_the_upstreams_content_type_and_page_headers_pass_through_for_the_dashboard() -> None:
    page = "<!doctype html><title>KPIs</title>"
    csp = "default-src 'none'; connect-src 'self'"
    client, _ = console(
        lambda req: httpx.Response(
            200, text=page, headers={"content-type": "text/html; charset=utf-8", "Content-Security-Policy": csp}
        )
    )
    async with client:
        r = await client.get("/api/metrics/dashboard")
    assert r.status_code == 200 and r.text == page
    assert r.headers["content-type"].startswith("text/html") and r.headers["content-security-policy"] == csp


@pytest.mark.parametrize(
    ("token", "principal", "role"), [(AGENT_TOKEN, "amy", "agent"), (SUPERVISOR_TOKEN, "sam", "supervisor")]
)
async def test_me_names_the_principal_and_role_of_the_token(token: str, principal: str, role: str) -> None:
    client, seen = console(ok, poll_seconds=3)
    async with client:
        r = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert r.json() == {
        "principal": principal,
        "role": role,
        "delegate": False,
        "poll_seconds": 3.0,
        "timezone": "Asia/Hong_Kong",
        "page_size": 200,
        "vocabulary": VOCABULARY,
    }
    assert r.json()["vocabulary"]["callback_outcomes"] == ["reached", "no_answer", "voicemail", "wrong_number"]
    assert seen == []  # answered by the console itself


async def test_me_knows_the_one_token_of_a_simple_deployment_as_ops() -> None:
    app = create_app(ConsoleSettings(api_token="simple-deployment-token-01"), transport=httpx.MockTransport(ok))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://c") as client:
        r = await client.get("/api/me", headers={"Authorization": "Bearer simple-deployment-token-01"})
    assert r.json()["principal"] == "ops" and r.json()["role"] == "ops" and r.json()["delegate"] is True


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-0123456789", f"Basic {AGENT_TOKEN}", "Bearer "])
async def test_me_refuses_an_unknown_or_missing_token(header: str | None) -> None:
    client, _ = console(ok)
    async with client:
        r = await client.get("/api/me", headers={"Authorization": header} if header else {})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


async def test_ready_when_every_service_answers_its_healthz_and_not_otherwise() -> None:
    client, seen = console(lambda req: httpx.Response(200, json={"status": "ok"}))
    async with client:
        r = await client.get("/readyz")
    assert r.status_code == 200 and r.json() == {
        "ready": True,
        "checks": {"intake": True, "booking": True, "complaints": True, "metrics": True},
    }
    assert sorted(str(s.url) for s in seen) == [
        "http://booking.test:8002/healthz",
        "http://complaints.test:8003/healthz",
        "http://intake.test:8001/healthz",
        "http://metrics.test:8004/healthz",
    ]

    def metrics_down(req: httpx.Request) -> httpx.Response:
        if req.url.host == "metrics.test":
            raise httpx.ConnectError("refused")
        return httpx.Response(200, json={"status": "ok"})

    client, _ = console(metrics_down)
    async with client:
        r = await client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["metrics"] == "error: ConnectError"
    assert r.json()["checks"]["intake"] is True


async def test_the_page_and_its_files_are_served_with_a_policy_that_allows_nothing_external() -> None:
    client, _ = console(ok)
    async with client:
        page = await client.get("/")
        files = [await client.get(f"/static/{name}") for name in ("app.js", "api.js", "i18n.js", "style.css")]
        health = await client.get("/healthz")
    assert page.status_code == 200 and 'data-test="signin"' in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert all(f.status_code == 200 for f in files)
    assert "http://" not in page.text and "https://" not in page.text  # no CDN, nothing external
    assert health.json() == {"status": "ok", "service": "console"}


async def test_a_body_over_the_limit_is_refused_at_the_edge() -> None:
    client, seen = console(ok, max_message_bytes=2048)
    async with client:
        r = await client.post(
            "/api/intake/commands/conversation.assign",
            content=b"x" * 4096,
            headers={"Authorization": f"Bearer {AGENT_TOKEN}", "Content-Type": "application/json"},
        )
    assert r.status_code == 413 and seen == []
