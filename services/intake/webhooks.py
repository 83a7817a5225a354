"""HTTP webhook ingress for the channels that push: WeChat Official Account and Chatwoot.

Each endpoint authenticates the push, checks its size and that it is the channel's payload at all,
and publishes the raw body unchanged to ``meetdesk.inbound`` (routing key = channel: ``wechat``,
``chat``); the queue path (adapters, dedupe, dead-lettering) does the rest. No global state: the
service builds the routes with :func:`make_routes` and its own ``publish``, settings and clock (a
signed timestamp is checked against the clock's time).

Configuration (``MEETDESK_`` environment variables; empty = that webhook is disabled, 503):

- ``wechat_token`` — the Token entered in the Official Account's server configuration. WeChat signs
  the query string (``signature`` = SHA-1 of token, ``timestamp`` and ``nonce`` sorted and joined);
  point the account at ``https://<host>/webhooks/wechat`` (plaintext, compatible or safe mode).
- ``wechat_encoding_aes_key`` and ``wechat_app_id`` — for safe mode (安全模式), where the push carries
  only ``<Encrypt>``: its ``msg_signature`` (SHA-1 of token, timestamp, nonce and the ciphertext) is
  checked, the message decrypted (``channels/wechat_crypto.py``) and checked to be for this AppID, and
  the plaintext XML is what goes on to the queue. Without them a safe-mode push is refused (503).
- ``chatwoot_secret`` — the webhook's secret. Chatwoot 4.11.2 and later sign each delivery:
  ``X-Chatwoot-Signature: sha256=<hex HMAC-SHA256 of "{X-Chatwoot-Timestamp}.{raw body}">``;
  a signature without its timestamp is refused (it could be replayed forever). Older Chatwoot sends
  no signature at all: put the secret in the webhook URL instead,
  ``https://<host>/webhooks/chatwoot?token=<secret>`` (a replay of such a delivery is the same
  message, which intake counts once by its id).

Replays: a signed timestamp more than 5 minutes from the service's clock is refused, and within
those 5 minutes each WeChat ``timestamp``/``nonce`` pair and each Chatwoot signature is accepted
once (``seen``: shared by the replicas through intake's database); a replay answers 403 / 401.

Payloads are never logged (they carry names and phone numbers): only channel, size and message id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from shared.clock import Clock
from shared.http import error
from shared.logs import get_logger
from shared.runtime import Rejected

from .channels import wechat, wechat_crypto

log = get_logger(__name__)

Publish = Callable[[str, bytes, str | None, str], Awaitable[None]]
"""``publish(channel, body, message_id, content_type)``: send to ``meetdesk.inbound``, key = channel."""

MAX_SKEW_SECONDS = 300  # a signed timestamp further from now than this is a replay (or a wrong clock)
_EPOCH = re.compile(r"[0-9]{1,12}")


# -- pure helpers -------------------------------------------------------------------------------
def wechat_signature(token: str, timestamp: str, nonce: str) -> str:
    """WeChat's rule: SHA-1 (hex) of token, timestamp and nonce, sorted and concatenated."""
    return hashlib.sha1("".join(sorted((token, timestamp, nonce))).encode()).hexdigest()


def verify_wechat(
    token: str,
    signature: str,
    timestamp: str,
    nonce: str,
    now: float | None = None,
    max_skew: float = MAX_SKEW_SECONDS,
) -> bool:
    """The query-string signature of a WeChat push or handshake; with ``now``, also refuse a
    timestamp more than ``max_skew`` seconds off (a replay)."""
    if not token or not signature:
        return False
    if now is not None and not fresh(timestamp, now, max_skew):
        return False
    expected = wechat_signature(token, timestamp, nonce)
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


def fresh(timestamp: str | None, now: float, max_skew: float = MAX_SKEW_SECONDS) -> bool:
    """``timestamp`` is epoch seconds within ``max_skew`` of ``now`` (either direction)."""
    if not timestamp or not _EPOCH.fullmatch(timestamp):
        return False
    return abs(int(timestamp) - now) <= max_skew


def chatwoot_signature(secret: str, body: bytes, timestamp: str | None = None) -> str:
    """Hex HMAC-SHA256 with the webhook secret of ``"{timestamp}.{body}"``, or of the body alone."""
    signed = body if timestamp is None else timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify_chatwoot(
    secret: str,
    body: bytes,
    *,
    signature: str | None = None,
    timestamp: str | None = None,
    token: str | None = None,
    now: float | None = None,
    max_skew: float = MAX_SKEW_SECONDS,
) -> bool:
    """A Chatwoot delivery is authentic if the ``?token=`` query parameter is the secret or the
    ``X-Chatwoot-Signature`` matches over ``"{timestamp}.{body}"`` with its ``X-Chatwoot-Timestamp``
    (within ``max_skew`` of ``now``, if ``now`` is given; a signature without a timestamp is refused).
    Either suffices, so a signing Chatwoot can also keep a token in its URL."""
    if not secret:
        return False
    if token and hmac.compare_digest(secret.encode(), token.encode()):
        return True
    if not signature or not timestamp:
        return False
    if now is not None and not fresh(timestamp, now, max_skew):
        return False
    given = signature.strip().lower().removeprefix("sha256=")
    expected = chatwoot_signature(secret, body, timestamp)
    return hmac.compare_digest(expected.encode(), given.encode())


def chatwoot_message_id(payload: dict[str, Any]) -> str | None:
    """``chatwoot:message_created:<message id>``: the same message delivered twice is one inquiry."""
    event, ident = payload.get("event"), payload.get("id")
    if event == "message_created" and isinstance(ident, int | str) and not isinstance(ident, bool) and str(ident):
        return f"chatwoot:{event}:{ident}"
    return None


class Seen(Protocol):
    async def first(self, key: str) -> bool:
        """Remember ``key``; True the first time it is offered (within the replay window)."""
        ...

    async def forget(self, key: str) -> None:
        """Forget ``key`` (the delivery it let in could not be taken: its sender will try again)."""
        ...


class RecentKeys:
    """One process's memory of the keys offered within the replay window (what :func:`make_routes`
    uses unless given a memory the replicas share)."""

    def __init__(self, clock: Clock, window: float = 2 * MAX_SKEW_SECONDS):
        self._clock = clock
        self._window = window
        self._seen: dict[str, float] = {}

    async def first(self, key: str) -> bool:
        now = self._clock.now().timestamp()
        if len(self._seen) > 10_000:
            self._seen = {k: t for k, t in self._seen.items() if now - t <= self._window}
        seen_at = self._seen.get(key)
        if seen_at is not None and now - seen_at <= self._window:
            return False
        self._seen[key] = now
        return True

    async def forget(self, key: str) -> None:
        self._seen.pop(key, None)


# -- endpoints ----------------------------------------------------------------------------------
def make_routes(
    publish: Publish, settings_getter: Callable[[], Any], clock: Clock, seen: Seen | None = None
) -> list[Route]:
    """``GET``/``POST /webhooks/wechat`` and ``POST /webhooks/chatwoot``.

    ``settings_getter()`` returns an object with ``wechat_token`` and ``chatwoot_secret``
    (``SecretStr``) and ``max_message_bytes``; it is read on every request. ``clock`` says what
    time it is for the signed timestamps (the service's clock); ``seen`` remembers the signed
    deliveries accepted, so a replay within the window is refused (default: this process's memory).
    """
    memory: Seen = seen or RecentKeys(clock)

    async def wechat_handshake(request: Request) -> Response:
        """WeChat's server-URL check: echo ``echostr`` if the signature is right."""
        token = _secret(settings_getter(), "wechat_token")
        if not token:
            return error(503, "the WeChat webhook is not configured")
        if not _wechat_signed(request, token, clock.now().timestamp()):
            return error(403, "invalid WeChat signature")
        return PlainTextResponse(request.query_params.get("echostr", ""))

    async def wechat_push(request: Request) -> Response:
        settings = settings_getter()
        token = _secret(settings, "wechat_token")
        if not token:
            return error(503, "the WeChat webhook is not configured")
        if not _wechat_signed(request, token, clock.now().timestamp()):
            return error(403, "invalid WeChat signature")
        body = await _read_body(request, settings.max_message_bytes)
        if body is None:
            _log_refused("wechat", 413, "too large")
            return error(413, "payload too large")
        try:
            fields = wechat.parse(body)
            if _encrypted(request, fields):
                opened = _open_safe_mode(request, settings, token, fields)
                if isinstance(opened, Response):
                    return opened
                body = opened
                fields = wechat.parse(body)
            wechat.check(fields)
        except Rejected as rej:
            _log_refused("wechat", 400, rej.reason, len(body))
            return error(400, f"not a WeChat push: {rej.reason}")
        message_id = wechat.source_ref(fields)
        q = request.query_params
        once = f"wechat:{q.get('timestamp')}:{q.get('nonce')}"
        if not await memory.first(once):
            _log_refused("wechat", 403, "replayed", len(body))
            return error(403, "this signed request was used before (a replay)")
        await _publish_or_forget(memory, once, publish("wechat", body, message_id, "application/xml"))
        log.info("webhook accepted", channel="wechat", size=len(body), message_id=message_id)
        return PlainTextResponse("success")  # what WeChat expects when no reply message is sent

    async def chatwoot_push(request: Request) -> Response:
        settings = settings_getter()
        secret = _secret(settings, "chatwoot_secret")
        if not secret:
            return error(503, "the Chatwoot webhook is not configured")
        body = await _read_body(request, settings.max_message_bytes)
        if body is None:
            _log_refused("chat", 413, "too large")
            return error(413, "payload too large")
        authentic = verify_chatwoot(
            secret,
            body,
            signature=request.headers.get("x-chatwoot-signature"),
            timestamp=request.headers.get("x-chatwoot-timestamp"),
            token=request.query_params.get("token"),
            now=clock.now().timestamp(),
        )
        if not authentic:
            _log_refused("chat", 401, "not authenticated", len(body))
            return error(401, "a valid X-Chatwoot-Signature or ?token= is required")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("event"), str) or not payload["event"]:
            _log_refused("chat", 400, "not a Chatwoot event", len(body))
            return error(400, "not a Chatwoot webhook: expected a JSON object with an 'event'")
        message_id = chatwoot_message_id(payload)
        signature = (request.headers.get("x-chatwoot-signature") or "").strip().lower().removeprefix("sha256=")
        once = f"chatwoot:{signature}"
        if signature and not await memory.first(once):
            _log_refused("chat", 401, "replayed", len(body))
            return error(401, "this signed delivery was received before (a replay)")
        await _publish_or_forget(memory, once, publish("chat", body, message_id, "application/json"))
        log.info("webhook accepted", channel="chat", size=len(body), message_id=message_id)
        return JSONResponse({"accepted": True, "channel": "chat", "message_id": message_id}, status_code=202)

    return [
        Route("/webhooks/wechat", wechat_handshake, methods=["GET"], name="webhook_wechat_handshake"),
        Route("/webhooks/wechat", wechat_push, methods=["POST"], name="webhook_wechat"),
        Route("/webhooks/chatwoot", chatwoot_push, methods=["POST"], name="webhook_chatwoot"),
    ]


async def _publish_or_forget(memory: Seen, key: str, publishing: Awaitable[None]) -> None:
    try:
        await publishing
    except BaseException:
        await memory.forget(key)
        raise


def _secret(settings: Any, name: str) -> str:
    value = getattr(settings, name, None)
    if value is None:
        return ""
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)


def _encrypted(request: Request, fields: dict[str, str]) -> bool:
    """A safe-mode push: ``encrypt_type=aes`` with an ``Encrypt`` field and no plaintext message
    (compatible mode sends both: its plaintext is read as it is)."""
    if not fields.get("Encrypt"):
        return False
    plaintext = all(fields.get(name) for name in wechat.REQUIRED)
    return not plaintext and (request.query_params.get("encrypt_type", "aes").lower() == "aes")


def _open_safe_mode(request: Request, settings: Any, token: str, fields: dict[str, str]) -> bytes | Response:
    """The plaintext XML of a safe-mode push, or the refusal: 503 when safe mode is not configured,
    403 for a wrong ``msg_signature``; :class:`Rejected` (400) for a message that does not decrypt
    for this account."""
    encoding_key = _secret(settings, "wechat_encoding_aes_key")
    app_id = str(getattr(settings, "wechat_app_id", "") or "")
    if not encoding_key or not app_id:
        _log_refused("wechat", 503, "safe mode not configured")
        return error(503, "WeChat safe mode is not configured (EncodingAESKey and AppID)")
    q = request.query_params
    encrypted = fields["Encrypt"]
    if not wechat_crypto.verify(
        token, q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", ""), encrypted
    ):
        _log_refused("wechat", 403, "bad msg_signature")
        return error(403, "invalid WeChat msg_signature")
    try:
        key = wechat_crypto.aes_key(encoding_key)
    except Rejected as rej:  # the account's setting, not the push, is wrong
        _log_refused("wechat", 503, rej.reason)
        return error(503, f"WeChat safe mode is misconfigured: {rej.reason}")
    return wechat_crypto.decrypt(encrypted, key, app_id)


def _wechat_signed(request: Request, token: str, now: float) -> bool:
    q = request.query_params
    ok = verify_wechat(token, q.get("signature", ""), q.get("timestamp", ""), q.get("nonce", ""), now=now)
    if not ok:
        _log_refused("wechat", 403, "bad or stale signature")
    return ok


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The raw body, or None as soon as it is known to exceed ``limit`` bytes (not read further)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _log_refused(channel: str, status: int, why: str, size: int | None = None) -> None:
    log.warning("webhook refused", channel=channel, status=status, why=why, size=size)
