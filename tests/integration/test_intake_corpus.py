"""A corpus of real-world payloads (tests/data/intake_corpus/, each file saying where its shape comes
from) through intake on the real broker: what each becomes, and that no automatic reply goes to a
machine (RFC 3834) — bounces, auto-replies, lists and spam are never acknowledged, a bounce of our
acknowledgement is ``notification.failed`` naming the customer, and an address is acknowledged at
most once in the period."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from ..conftest import System

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).parent.parent / "data" / "intake_corpus"
MACHINES = {  # the senders that must never get an automatic reply
    "siuming.lam@example.com.hk",  # out-of-office
    "news@venues.example.org",  # newsletter
    "jbrown.claims@freemail.example",  # spam
    "mailer-daemon@mx1.example.net",
    "postmaster@mx1.example.net",
}


def load(name: str, **fill: str) -> bytes:
    raw = (CORPUS / name).read_bytes()
    for key, value in fill.items():
        raw = raw.replace(f"{{{key}}}".encode(), value.encode())
    return raw


def customer_mail(sender: str, subject: str, body: str) -> tuple[bytes, str]:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "desk@meetdesk.example", subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    mid = f"{uuid.uuid4()}@example.net"
    msg["Message-ID"] = f"<{mid}>"
    msg.set_content(body)
    return bytes(msg), mid


async def test_the_real_world_corpus_becomes_what_it_must_and_no_machine_is_answered(system: System) -> None:
    publish = system.publisher.publish
    watcher = system.watcher

    def one(event_type: str, **match: object):
        return watcher.wait_for(lambda e: e.type == event_type and all(e.data.get(k) == v for k, v in match.items()))

    # a customer writes twice: one acknowledgement (automatic, with the Message-ID a bounce will quote)
    wong = "wong.kar.fai@example.net"
    first, first_id = customer_mail(f"Wong Kar Fai <{wong}>", "Room", "What are your rates for the boardroom?")
    second, second_id = customer_mail(wong, "Room again", "And is there parking nearby?")
    await publish("meetdesk.inbound", "email", first, message_id=first_id, content_type="message/rfc822")
    (inquiry,) = await one("inquiry.received", source_ref=first_id)
    (ack,) = await one("notification.requested", address=wong)
    assert ack.data["parameters"]["auto_submitted"] == "auto-replied"
    assert ack.data["parameters"]["message_id"] == f"{inquiry.data['inquiry_id']}.ack@meetdesk.example"
    await publish("meetdesk.inbound", "email", second, message_id=second_id, content_type="message/rfc822")

    # the corpus, as the systems send it
    inquiry_id, customer_id = inquiry.data["inquiry_id"], inquiry.data["customer"]["customer_id"]
    unknown_inquiry = str(uuid.uuid4())
    emails = {
        name: load(name, INQUIRY=inquiry_id, INQUIRY2=unknown_inquiry)
        for name in (
            "nodemailer_unicode.eml",
            "autoreply_outlook_ooo.eml",
            "list_newsletter.eml",
            "spam_spamassassin.eml",
            "bounce_postfix_dsn.eml",
            "bounce_gmail_no_from.eml",
            "bounce_delayed.eml",
        )
    }
    for name, raw in emails.items():
        await publish("meetdesk.inbound", "email", raw, message_id=f"corpus:{name}", content_type="message/rfc822")
    for name, channel in (
        ("chatwoot_incoming.json", "chat"),
        ("chatwoot_agent_reply.json", "chat"),
        ("asterisk_missed_call.json", "phone"),
    ):
        await publish("meetdesk.inbound", channel, json.loads(load(name)), message_id=f"corpus:{name}")
    wechat = load("wechat_common_script.xml", CREATED=str(int(time.time())))
    await publish("meetdesk.inbound", "wechat", wechat, message_id="corpus:wechat", content_type="application/xml")

    # what each became
    (nodemailer,) = await one("inquiry.received", source_ref="6b3c0e61-6e8f-4a6d-ef35-4b6b7f2b1c3e@example.com")
    assert nodemailer.data["subject"] == "Nodemailer is unicode friendly ✔ (1476358788189)"
    for ref, why in (
        ("HK0PR03MB4321A1B2C3D4E5F6@HK0PR03MB4321.apcprd03.prod.outlook.com", "auto_submitted"),
        ("newsletter.20261201.8f3a@venues.example.org", "bulk"),
        ("spam.77a1@freemail.example", "spam"),
    ):
        (machine,) = await one("inquiry.received", source_ref=ref)
        assert machine.data["automatic"] == why
    (failed,) = await one("notification.failed", address=wong)
    assert (failed.data["customer_id"], failed.data["inquiry_id"]) == (customer_id, inquiry_id)
    assert failed.data["status"] == "5.1.1" and failed.data["channel"] == "email"
    (no_from,) = await one("notification.failed", address="no.such.person@gmail.com")
    assert (no_from.data["customer_id"], no_from.data["inquiry_id"]) == (None, unknown_inquiry)
    (chat,) = await one("inquiry.received", source_ref="message:90201")
    assert (chat.data["language"], chat.data["conversation_id"]) == ("en", "chatwoot:9045")
    await one("agent.replied", conversation_id="chatwoot:9045")
    await one("call.missed", call_id="1796105002.4242")
    (common,) = await one("inquiry.received", source_ref="24601234567890777")
    assert common.data["language"] == "zh-Hans", "位置信息 shows no script: WeChat's usual one"
    await one("inquiry.received", source_ref=second_id)
    delayed = "20261201054301.DELAY1@mx1.example.net"
    for _ in range(50):  # recorded, and nothing else
        rows = await system.query("intake", "SELECT kind FROM deliveries WHERE source_ref = $1", delayed)
        if rows:
            break
        await asyncio.sleep(0.1)
    assert [r["kind"] for r in rows] == ["delivery_report"]

    # nothing automatic went to a machine, no bounce became an inquiry or a dead letter, one acknowledgement each
    await asyncio.sleep(1.0)  # anything a delivery above caused has been relayed by now
    requested = watcher.matching(lambda e: e.type == "notification.requested")
    assert not [e.data["address"] for e in requested if (e.data["address"] or "").lower() in MACHINES]
    assert [e.data["address"] for e in requested].count(wong) == 1, "at most one acknowledgement in the period"
    bounce_refs = {
        "20261201014301.4Q2kLm0vZ2z9tG@mx1.example.net",
        "5f2d1c0a.1c69fb81.4b6e.0a3dSMTPIN_ADDED_BROKEN@mx.google.com",
        delayed,
    }
    assert not watcher.matching(lambda e: e.type == "inquiry.received" and e.data["source_ref"] in bounce_refs)
    assert not watcher.matching(
        lambda e: e.type == "intake.rejected" and str(e.data.get("message_id", "")).startswith("corpus:")
    )
    assert len(watcher.matching(lambda e: e.type == "notification.failed" and e.data["address"] == wong)) == 1
