"""Size limits that protect the parsers: refused with a clear reason before any parsing."""

from __future__ import annotations

import uuid

import pytest

from services.intake.channels import email
from services.intake.normalised import ChannelContext
from shared.runtime import Incoming, Rejected
from shared.topology import INTAKE_INBOUND


def incoming(body: bytes, channel: str = "email") -> Incoming:
    return Incoming(INTAKE_INBOUND, body, channel, {}, None, uuid.uuid4(), "message/rfc822", 0)


def test_an_email_with_a_huge_header_section_is_refused_before_parsing() -> None:
    params = "; ".join(f"p{i}=v{i}" for i in range(8000))
    raw = f"From: a@example.com\r\nContent-Type: text/plain; {params}\r\n\r\nhello".encode()
    assert len(raw) > email.MAX_HEADER_SECTION
    with pytest.raises(Rejected, match=r"header section of \d+ bytes is over the limit"):
        email.adapt(incoming(raw), ChannelContext())


def test_a_large_body_with_normal_headers_is_read() -> None:
    raw = b"From: a@example.com\r\nSubject: big\r\nMessage-ID: <x@y>\r\n\r\n" + b"hello world\r\n" * 20_000
    (n,) = email.adapt(incoming(raw), ChannelContext())
    assert n.source_ref == "x@y"
    assert n.text and n.text.startswith("hello world")
