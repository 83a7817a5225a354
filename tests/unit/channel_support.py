"""What the channel adapter tests share: building a delivery, and the fuzzing contract."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from hypothesis import HealthCheck, settings

from services.intake.normalised import Normalised
from shared.runtime import Incoming, Rejected
from shared.topology import INTAKE_INBOUND

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def incoming(body: Any, channel: str, content_type: str = "application/json") -> Incoming:
    """A delivery on intake's queue as another system would publish it (dicts are sent as JSON)."""
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return Incoming(
        queue=INTAKE_INBOUND,
        body=raw,
        routing_key=channel,
        headers={},
        message_id=None,
        correlation_id=uuid.UUID("00000000-0000-4000-8000-000000000003"),
        content_type=content_type,
        delivery_count=0,
    )


def assert_list_or_rejected(call: Callable[[], list[Normalised]], kinds: Iterable[str]) -> list[Normalised]:
    """A parser may refuse its input (``Rejected``) and nothing else; what it accepts is well formed."""
    try:
        result = call()
    except Rejected:
        return []
    assert isinstance(result, list)
    assert all(isinstance(n, Normalised) for n in result)
    for n in result:
        assert n.received_at is None or n.received_at.tzinfo is not None  # None: dated on arrival
        assert n.kind in set(kinds)
    return result
