"""Email channel speed: each header field is parsed once per message, with policy.default's results."""

from __future__ import annotations

from email import policy
from email.message import Message
from email.parser import BytesParser
from pathlib import Path

from services.intake.channels import email as channel
from services.intake.normalised import ChannelContext

from . import channel_support as support

DATA = Path(__file__).parent.parent / "data" / "email"
FIXTURES = sorted(DATA.glob("*.eml"))
CTX = ChannelContext(agent_email_domains=("meetdesk.example",))

MULTIPART = (
    b"From: Alice Wong <alice@example.com>\r\n"
    b"To: desk@meetdesk.example\r\n"
    b"Subject: Harbour Room\r\n"
    b"Date: Tue, 1 Dec 2026 10:00:00 +0800\r\n"
    b"Message-ID: <a1@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="outer"\r\n'
    b"\r\n"
    b"--outer\r\n"
    b'Content-Type: multipart/alternative; boundary="inner"\r\n'
    b"\r\n"
    b"--inner\r\n"
    b'Content-Type: text/plain; charset="utf-8"\r\n'
    b"Content-Transfer-Encoding: 7bit\r\n"
    b"\r\n"
    b"Is the Harbour Room free on Friday?\r\n"
    b"--inner\r\n"
    b'Content-Type: text/html; charset="utf-8"\r\n'
    b"Content-Transfer-Encoding: 7bit\r\n"
    b"\r\n"
    b"<p>Is the Harbour Room free on Friday?</p>\r\n"
    b"--inner--\r\n"
    b"--outer\r\n"
    b'Content-Type: application/pdf; name="plan.pdf"\r\n'
    b'Content-Disposition: attachment; filename="plan.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"JVBERi0xLjQK\r\n"
    b"--outer--\r\n"
)


def parts(msg: Message) -> list[Message]:
    return list(msg.walk())


def test_each_header_field_is_parsed_once_per_message(monkeypatch):
    calls: list[tuple[str, str]] = []
    make = channel._HeaderRegistry.__call__

    def counting(self, name, value):
        calls.append((name, value))
        return make(self, name, value)

    monkeypatch.setattr(channel._HeaderRegistry, "__call__", counting)
    (item,) = channel.adapt(support.incoming(MULTIPART, "email", "message/rfc822"), CTX)
    assert item.text == "Is the Harbour Room free on Friday?"
    assert item.extra["attachments"] == [{"filename": "plan.pdf", "content_type": "application/pdf", "size": 9}]
    assert calls  # the parser and the body walk do ask for the fields
    assert len(calls) == len(set(calls))  # but each (name, value) is parsed once


def test_parsed_headers_are_not_kept_across_messages():
    first = channel._parse(MULTIPART)
    second = channel._parse(MULTIPART.replace(b"plan.pdf", b"menu.pdf"))
    assert first.policy is not second.policy
    assert all(part.policy is first.policy for part in parts(first))  # one memo per message, for all parts
    first.get_filename()
    assert not any("menu.pdf" in str(value) for value in first.policy._parsed.values())


def test_headers_read_as_with_policy_default():
    for raw in [MULTIPART, *(path.read_bytes() for path in FIXTURES)]:
        ours = parts(channel._parse(raw))
        stdlib = parts(BytesParser(policy=policy.default).parsebytes(raw))
        assert len(ours) == len(stdlib)
        for mine, theirs in zip(ours, stdlib, strict=True):
            for _ in range(2):  # the second time from the memo
                assert mine.get_content_type() == theirs.get_content_type()
                assert mine.get_content_charset() == theirs.get_content_charset()
                assert mine.get_content_disposition() == theirs.get_content_disposition()
                assert mine.get_filename() == theirs.get_filename()
                assert mine.get_payload(decode=True) == theirs.get_payload(decode=True)
                for (name, value), (_, expected) in zip(mine.items(), theirs.items(), strict=True):
                    assert str(value) == str(expected), name
                    assert type(value).__name__ == type(expected).__name__
                    assert [type(d) for d in value.defects] == [type(d) for d in expected.defects]
                    assert dict(getattr(value, "params", {})) == dict(getattr(expected, "params", {}))
