"""Webhook ingress: WeChat (signed query string, echo handshake) and Chatwoot (HMAC or URL token)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.testclient import TestClient

from services.intake.webhooks import (
    chatwoot_message_id,
    chatwoot_signature,
    make_routes,
    verify_chatwoot,
    verify_wechat,
    wechat_signature,
)
from shared.clock import FixedClock

TOKEN = "meetdesk-wechat-token"
SECRET = "cw-3b1f0c9e8d7a6b5c"
OPENID = "oXYZ6t9dKx0Qm3bJ8wT2pL5vR1aE"
NOW = 1764570060  # the service's clock in these tests (a year before this code was written: not the machine's)

WECHAT_TEXT = (
    "<xml><ToUserName><![CDATA[gh_3f2a9c81d7e4]]></ToUserName>\n"
    f"<FromUserName><![CDATA[{OPENID}]]></FromUserName>\n"
    "<CreateTime>1764570000</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[你好，我想預訂會議室]]></Content>\n<MsgId>24601234567890123</MsgId>\n</xml>"
).encode()
WECHAT_EVENT = (
    "<xml><ToUserName><![CDATA[gh_3f2a9c81d7e4]]></ToUserName>"
    f"<FromUserName><![CDATA[{OPENID}]]></FromUserName><CreateTime>1764570001</CreateTime>"
    "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>"
).encode()

CHATWOOT_MESSAGE = {
    "event": "message_created",
    "id": 4711,
    "content": "請問12月2日下午有冇20人會議室？我電話 +852 2123 4567",
    "message_type": "incoming",
    "created_at": "2026-11-20T09:15:00.000Z",
    "private": False,
    "sender": {"id": 31, "name": "陳大文", "phone_number": "+85221234567", "type": "contact"},
    "conversation": {"id": 812, "inbox_id": 3, "status": "open"},
    "account": {"id": 1, "name": "MeetDesk"},
}


@dataclass
class FakeSettings:
    wechat_token: SecretStr = field(default_factory=lambda: SecretStr(TOKEN))
    chatwoot_secret: SecretStr = field(default_factory=lambda: SecretStr(SECRET))
    max_message_bytes: int = 4096


@dataclass
class Published:
    channel: str
    body: bytes
    message_id: str | None
    content_type: str


class Harness:
    def __init__(self) -> None:
        self.settings = FakeSettings()
        self.calls: list[Published] = []
        self.clock = FixedClock(datetime.fromtimestamp(NOW, UTC))

        async def publish(channel: str, body: bytes, message_id: str | None, content_type: str) -> None:
            self.calls.append(Published(channel, body, message_id, content_type))

        self.client = TestClient(Starlette(routes=make_routes(publish, lambda: self.settings, self.clock)))


@pytest.fixture
def h() -> Harness:
    return Harness()


def signed(
    token: str = TOKEN, *, timestamp: int | None = None, nonce: str | None = None, **extra: str
) -> dict[str, str]:
    """A WeChat query string signed with ``token`` (a fresh nonce each time, as WeChat sends)."""
    ts = str(NOW if timestamp is None else timestamp)
    nonce = nonce or str(random.randrange(10**9, 10**10))
    return {"signature": wechat_signature(token, ts, nonce), "timestamp": ts, "nonce": nonce, **extra}


# -- pure helpers -------------------------------------------------------------------------------
def test_wechat_signature_follows_the_documented_rule() -> None:
    expected = hashlib.sha1("".join(sorted(["tok", "1409304348", "xxxxxx"])).encode()).hexdigest()
    assert wechat_signature("tok", "1409304348", "xxxxxx") == expected
    assert wechat_signature("tok", "1409304348", "xxxxxx") == wechat_signature("tok", "1409304348", "xxxxxx")


def test_verify_wechat() -> None:
    sig = wechat_signature(TOKEN, "1764570000", "nonce")
    assert verify_wechat(TOKEN, sig, "1764570000", "nonce")
    assert verify_wechat(TOKEN, sig.upper(), "1764570000", "nonce")
    assert not verify_wechat(TOKEN, sig, "1764570000", "other")
    assert not verify_wechat("other", sig, "1764570000", "nonce")
    assert not verify_wechat("", wechat_signature("", "1", "n"), "1", "n")  # no token: never valid
    assert not verify_wechat(TOKEN, "签名", "1764570000", "nonce")  # non-ASCII: False, not TypeError
    # replay window, only when now is given
    assert verify_wechat(TOKEN, sig, "1764570000", "nonce", now=1764570000 + 299)
    assert verify_wechat(TOKEN, sig, "1764570000", "nonce", now=1764570000 - 299)
    assert not verify_wechat(TOKEN, sig, "1764570000", "nonce", now=1764570000 + 301)
    assert not verify_wechat(TOKEN, sig, "1764570000", "nonce", now=1764570000 - 301)
    odd = wechat_signature(TOKEN, "+1764570000", "nonce")
    assert not verify_wechat(TOKEN, odd, "+1764570000", "nonce", now=1764570000)


def test_verify_chatwoot() -> None:
    body = b'{"event":"message_created","id":1}'
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert chatwoot_signature(SECRET, body) == digest
    assert not verify_chatwoot(SECRET, body, signature=digest), "a signature without its timestamp: refused"
    assert not verify_chatwoot(SECRET, body, signature=f"sha256={digest}")
    assert verify_chatwoot(SECRET, body, token=SECRET)
    assert not verify_chatwoot(SECRET, body, token=SECRET[:-1])
    assert not verify_chatwoot(SECRET, body)
    assert not verify_chatwoot("", body, signature=chatwoot_signature("", body), token="")
    assert not verify_chatwoot(SECRET, body, signature="sha256=ü", token="ü")  # non-ASCII: False
    # Chatwoot 4.11.2+: the signature covers "{timestamp}.{body}"
    ts = "1764570000"
    with_ts = hmac.new(SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    assert verify_chatwoot(SECRET, body, signature=f"sha256={with_ts}", timestamp=ts, now=1764570000 + 10)
    assert not verify_chatwoot(SECRET, body, signature=f"sha256={with_ts}", timestamp=ts, now=1764570000 + 400)
    assert not verify_chatwoot(SECRET, body, signature=f"sha256={digest}", timestamp=ts, now=1764570000)


def test_chatwoot_message_id() -> None:
    assert chatwoot_message_id({"event": "message_created", "id": 4711}) == "chatwoot:message_created:4711"
    assert chatwoot_message_id({"event": "message_created", "id": "4711"}) == "chatwoot:message_created:4711"
    assert chatwoot_message_id({"event": "message_created"}) is None
    assert chatwoot_message_id({"event": "message_created", "id": True}) is None
    assert chatwoot_message_id({"event": "conversation_status_changed", "id": 812}) is None


# -- WeChat endpoints ---------------------------------------------------------------------------
def test_wechat_echo_handshake(h: Harness) -> None:
    r = h.client.get("/webhooks/wechat", params=signed(echostr="5837397520665436492"))
    assert r.status_code == 200
    assert r.text == "5837397520665436492"
    assert r.headers["content-type"].startswith("text/plain")
    assert h.calls == []


@pytest.mark.parametrize(
    "params",
    [
        signed("wrong-token", echostr="1"),
        {**signed(echostr="1"), "nonce": "tampered"},
        signed(timestamp=NOW - 3600, echostr="1"),  # stale: a replay
        {"echostr": "1"},
    ],
    ids=["wrong-token", "tampered", "stale", "unsigned"],
)
def test_wechat_handshake_refused(h: Harness, params: dict[str, str]) -> None:
    r = h.client.get("/webhooks/wechat", params=params)
    assert r.status_code == 403
    assert "1" not in r.text.split()


def test_wechat_push_published_as_is(h: Harness) -> None:
    params = signed(openid=OPENID)
    r = h.client.post("/webhooks/wechat", params=params, content=WECHAT_TEXT, headers={"content-type": "text/xml"})
    assert r.status_code == 200
    assert r.text == "success"
    assert r.headers["content-type"].startswith("text/plain")
    assert h.calls == [Published("wechat", WECHAT_TEXT, "24601234567890123", "application/xml")]


def test_wechat_event_gets_a_stable_message_id(h: Harness) -> None:
    for _ in range(2):  # WeChat's redelivery: same body, same id
        assert h.client.post("/webhooks/wechat", params=signed(), content=WECHAT_EVENT).status_code == 200
    assert [c.message_id for c in h.calls] == [f"{OPENID}:1764570001:subscribe"] * 2


def test_a_captured_wechat_query_string_is_refused_with_any_body_inside_the_window(h: Harness) -> None:
    captured = signed()
    assert h.client.post("/webhooks/wechat", params=captured, content=WECHAT_TEXT).status_code == 200
    forged = WECHAT_TEXT.replace(b"Content><![CDATA[", b"Content><![CDATA[forged ")
    replay = h.client.post("/webhooks/wechat", params=captured, content=forged)
    assert replay.status_code == 403 and "replay" in replay.json()["error"]
    assert len(h.calls) == 1


def test_a_wechat_push_that_could_not_be_published_may_be_sent_again() -> None:
    clock = FixedClock(datetime.fromtimestamp(NOW, UTC))
    attempts: list[bytes] = []

    async def broker_away_once(channel: str, body: bytes, message_id: str | None, content_type: str) -> None:
        attempts.append(body)
        if len(attempts) == 1:
            raise ConnectionError("the broker is away")

    client = TestClient(
        Starlette(routes=make_routes(broker_away_once, FakeSettings, clock)), raise_server_exceptions=False
    )
    params = signed()
    assert client.post("/webhooks/wechat", params=params, content=WECHAT_TEXT).status_code == 500
    assert client.post("/webhooks/wechat", params=params, content=WECHAT_TEXT).status_code == 200, "its retry"
    assert len(attempts) == 2


@pytest.mark.parametrize(
    "params",
    [signed("wrong-token"), signed(timestamp=NOW + 3600), {}],
    ids=["wrong-token", "stale", "unsigned"],
)
def test_wechat_push_with_bad_signature(h: Harness, params: dict[str, str]) -> None:
    r = h.client.post("/webhooks/wechat", params=params, content=WECHAT_TEXT)
    assert r.status_code == 403
    assert h.calls == []


def test_signed_timestamps_are_judged_by_the_service_clock(h: Harness) -> None:
    params = signed()  # signed at the clock's time, a year from the machine's
    assert h.client.post("/webhooks/wechat", params=params, content=WECHAT_TEXT).status_code == 200
    h.clock.advance(timedelta(minutes=10))  # the same signature ten minutes later: a replay
    assert h.client.post("/webhooks/wechat", params=params, content=WECHAT_TEXT).status_code == 403
    assert len(h.calls) == 1


def test_wechat_push_too_large(h: Harness) -> None:
    body = WECHAT_TEXT.replace("你好".encode(), "你好".encode() * 1000)
    r = h.client.post("/webhooks/wechat", params=signed(), content=body)
    assert r.status_code == 413
    assert h.calls == []


def test_wechat_push_too_large_without_content_length(h: Harness) -> None:
    def chunks():  # streamed: no Content-Length, the limit still holds
        for _ in range(10):
            yield b"x" * 1000

    r = h.client.post("/webhooks/wechat", params=signed(), content=chunks())
    assert r.status_code == 413
    assert h.calls == []


@pytest.mark.parametrize(
    "body",
    [
        b'{"MsgType": "text"}',
        b"<html><body>hi</body></html>",
        b"<xml><ToUserName>gh_1</ToUserName></xml>",  # no sender, no type
        b'<!DOCTYPE xml [<!ENTITY a "aaaa">]><xml><FromUserName>&a;</FromUserName></xml>',
        b"",
    ],
    ids=["json", "html", "fields-missing", "dtd", "empty"],
)
def test_wechat_push_not_wechat_xml(h: Harness, body: bytes) -> None:
    r = h.client.post("/webhooks/wechat", params=signed(), content=body)
    assert r.status_code == 400
    assert h.calls == []


def test_wechat_disabled_without_token(h: Harness) -> None:
    h.settings.wechat_token = SecretStr("")
    assert h.client.get("/webhooks/wechat", params=signed("", echostr="1")).status_code == 503
    assert h.client.post("/webhooks/wechat", params=signed(""), content=WECHAT_TEXT).status_code == 503
    assert h.calls == []


# -- Chatwoot endpoint --------------------------------------------------------------------------
def chatwoot_body(payload: dict[str, Any] | None = None) -> bytes:
    return json.dumps(payload or CHATWOOT_MESSAGE, ensure_ascii=False).encode()


def chatwoot_signed(body: bytes, ts: int = NOW, *, prefix: str = "sha256=") -> dict[str, str]:
    sig = hmac.new(SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Chatwoot-Signature": prefix + sig, "X-Chatwoot-Timestamp": str(ts)}


def test_chatwoot_hmac_ok(h: Harness) -> None:
    body = chatwoot_body()
    r = h.client.post("/webhooks/chatwoot", content=body, headers=chatwoot_signed(body, prefix=""))
    assert r.status_code == 202
    assert r.json() == {"accepted": True, "channel": "chat", "message_id": "chatwoot:message_created:4711"}
    assert h.calls == [Published("chat", body, "chatwoot:message_created:4711", "application/json")]


def test_chatwoot_hmac_prefix_form(h: Harness) -> None:
    body = chatwoot_body()
    r = h.client.post("/webhooks/chatwoot", content=body, headers=chatwoot_signed(body))
    assert r.status_code == 202
    assert h.calls[0].body == body


def test_a_chatwoot_signature_without_its_timestamp_is_refused(h: Harness) -> None:
    body = chatwoot_body()
    sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert h.client.post("/webhooks/chatwoot", content=body, headers={"X-Chatwoot-Signature": sig}).status_code == 401
    assert h.calls == []


def test_a_replayed_chatwoot_delivery_is_refused_within_the_window(h: Harness) -> None:
    body = chatwoot_body({"event": "conversation_status_changed", "id": 812, "status": "resolved"})
    headers = chatwoot_signed(body)
    assert h.client.post("/webhooks/chatwoot", content=body, headers=headers).status_code == 202
    replay = h.client.post("/webhooks/chatwoot", content=body, headers=headers)
    assert replay.status_code == 401 and "replay" in replay.json()["error"]
    assert len(h.calls) == 1


def test_chatwoot_timestamped_signature(h: Harness) -> None:
    body = chatwoot_body()
    ts = str(NOW)
    sig = "sha256=" + hmac.new(SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {"X-Chatwoot-Signature": sig, "X-Chatwoot-Timestamp": ts}
    assert h.client.post("/webhooks/chatwoot", content=body, headers=headers).status_code == 202
    stale = str(NOW - 900)
    sig = "sha256=" + hmac.new(SECRET.encode(), f"{stale}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {"X-Chatwoot-Signature": sig, "X-Chatwoot-Timestamp": stale}
    assert h.client.post("/webhooks/chatwoot", content=body, headers=headers).status_code == 401
    assert len(h.calls) == 1


def test_chatwoot_query_token(h: Harness) -> None:
    body = chatwoot_body({"event": "conversation_status_changed", "id": 812, "status": "resolved"})
    r = h.client.post("/webhooks/chatwoot", params={"token": SECRET}, content=body)
    assert r.status_code == 202
    assert r.json()["message_id"] is None
    assert h.calls == [Published("chat", body, None, "application/json")]


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        ({"X-Chatwoot-Signature": "0" * 64}, {}),
        ({"X-Chatwoot-Signature": "sha256=" + hmac.new(b"other", b"x", hashlib.sha256).hexdigest()}, {}),
        ({}, {"token": "guess"}),
        ({}, {}),
    ],
    ids=["bad-hmac", "wrong-secret", "bad-token", "missing"],
)
def test_chatwoot_unauthenticated(h: Harness, headers: dict[str, str], params: dict[str, str]) -> None:
    r = h.client.post("/webhooks/chatwoot", content=chatwoot_body(), headers=headers, params=params)
    assert r.status_code == 401
    assert h.calls == []


def test_chatwoot_body_tampered_after_signing(h: Harness) -> None:
    body = chatwoot_body()
    r = h.client.post("/webhooks/chatwoot", content=body.replace(b"4711", b"4712"), headers=chatwoot_signed(body))
    assert r.status_code == 401


@pytest.mark.parametrize(
    "body",
    [b"[1, 2]", b'{"id": 1}', b'{"event": ""}', b'{"event": 5}', b"not json", b"{'event': 1}", b"\xff\xfe"],
)
def test_chatwoot_not_an_event(h: Harness, body: bytes) -> None:
    r = h.client.post("/webhooks/chatwoot", params={"token": SECRET}, content=body)
    assert r.status_code == 400
    assert h.calls == []


def test_chatwoot_too_large(h: Harness) -> None:
    body = chatwoot_body({**CHATWOOT_MESSAGE, "content": "x" * 5000})
    r = h.client.post("/webhooks/chatwoot", params={"token": SECRET}, content=body)
    assert r.status_code == 413
    assert h.calls == []


def test_chatwoot_disabled_without_secret(h: Harness) -> None:
    h.settings.chatwoot_secret = SecretStr("")
    r = h.client.post("/webhooks/chatwoot", params={"token": ""}, content=chatwoot_body())
    assert r.status_code == 503
    assert "not configured" in r.json()["error"]
    assert h.calls == []


def test_settings_are_read_per_request(h: Harness) -> None:
    body = chatwoot_body()
    assert h.client.post("/webhooks/chatwoot", params={"token": SECRET}, content=body).status_code == 202
    h.settings.chatwoot_secret = SecretStr("rotated")
    assert h.client.post("/webhooks/chatwoot", params={"token": SECRET}, content=body).status_code == 401
    assert h.client.post("/webhooks/chatwoot", params={"token": "rotated"}, content=body).status_code == 202


def test_missing_settings_attribute_means_disabled() -> None:
    async def publish(*_: Any) -> None:  # pragma: no cover - never called
        raise AssertionError

    class Bare:
        max_message_bytes = 4096

    client = TestClient(Starlette(routes=make_routes(publish, Bare, FixedClock(datetime.fromtimestamp(NOW, UTC)))))
    assert client.post("/webhooks/chatwoot", params={"token": ""}, content=b"{}").status_code == 503
    assert client.post("/webhooks/wechat", params=signed(""), content=WECHAT_TEXT).status_code == 503


def test_payload_never_logged(h: Harness, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    # the test client's own request log (httpx) prints URLs, query token included; it is not ours
    logging.getLogger("httpx").setLevel(logging.WARNING)
    body = chatwoot_body()
    h.client.post("/webhooks/chatwoot", params={"token": SECRET}, content=body)
    h.client.post("/webhooks/chatwoot", content=body)  # refused
    h.client.post("/webhooks/wechat", params=signed(), content=WECHAT_TEXT)
    out = capsys.readouterr()
    logged = out.out + out.err + caplog.text
    assert "webhook accepted" in logged and "message_created:4711" in logged  # logging did happen
    for secret_bit in ("2123 4567", "85221234567", "陳大文", "預訂會議室", SECRET):
        assert secret_bit not in logged
