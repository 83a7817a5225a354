"""Small HTTP helpers shared by the services' Starlette routes."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


# -- pages of a list: ?limit=&cursor= answered {"items": [...], "next": <cursor or null>} ---------------
class BadQuery(ValueError):
    """A query parameter the service cannot read: answered 400 with the reason."""


def page_limit(request: Request, *, default: int, most: int) -> int:
    raw = request.query_params.get("limit", str(default))
    try:
        limit = int(raw)
    except ValueError:
        raise BadQuery("limit is a number") from None
    if not 1 <= limit <= most:
        raise BadQuery(f"limit is 1 to {most}")
    return limit


def page_cursor(request: Request) -> list[str] | None:
    """Where the page starts: an opaque cursor the service gave as ``next`` (the last item's sort key,
    [its time, its id])."""
    raw = request.query_params.get("cursor")
    if not raw:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4)))
        if isinstance(key, list) and len(key) == 2 and all(isinstance(k, str) for k in key):
            datetime.fromisoformat(key[0])
            return key
    except (binascii.Error, ValueError):
        pass
    raise BadQuery("cursor is not one this service gave")


def next_cursor(key: Sequence[Any] | None) -> str | None:
    """The cursor of the page after the one whose last item's sort key is ``key`` (None: no more)."""
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps([str(k) for k in key]).encode()).decode().rstrip("=")
