"""Mail from machines (RFC 3834): bounces, auto-replies, lists and spam are never acknowledged; a
bounce of a message meetdesk asked to send is ``notification.failed``; meetdesk's own acknowledgements
are automatic and at most one per address in a period."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.intake import domain, handlers
from services.intake.channels.email import adapt
from services.intake.domain import Policy
from services.intake.normalised import ChannelContext, Normalised
from shared.runtime import derive_uuid

from . import channel_support as support
from .fakes import FakeUnitOfWork
from .intake_fakes import FakeIntakeStore

CORPUS = Path(__file__).parent.parent / "data" / "intake_corpus"
CTX = ChannelContext(agent_email_domains=("meetdesk.example",))
T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
POLICY = Policy.of(CTX, 1_048_576, acknowledge_every_minutes=60)
ACKED = uuid.UUID("0d7e8c4e-6a1e-4c43-9a6c-3c1f0e7b2a11")


def corpus(name: str, inquiry: uuid.UUID = ACKED) -> bytes:
    raw = (CORPUS / name).read_bytes()
    return raw.replace(b"{INQUIRY}", str(inquiry).encode()).replace(b"{INQUIRY2}", str(inquiry).encode())


def read(raw: bytes) -> Normalised:
    (n,) = adapt(support.incoming(raw, "email", "message/rfc822"), CTX)
    return n


def mail(extra_headers: str, *, sender: str = "Chan <chan@example.hk>", ref: str = "m1@example.hk") -> bytes:
    head = f"From: {sender}\nTo: desk@meetdesk.example\nSubject: Room\nDate: Tue, 1 Dec 2026 14:00:00 +0800\n"
    head += f"Message-ID: <{ref}>\n{extra_headers}".rstrip("\n")
    return "\r\n".join(head.split("\n")).encode() + b"\r\n\r\nWhat are your rates for the boardroom?\r\n"


async def apply(store: FakeIntakeStore, *raws: bytes, now: datetime = T0) -> FakeUnitOfWork[FakeIntakeStore]:
    batch = [
        domain.prepare(read(raw), derive_uuid("test", str(i), str(now)), now, POLICY) for i, raw in enumerate(raws)
    ]
    uow = FakeUnitOfWork(store, producer="intake", now=now)
    await handlers.apply(uow, batch, now, POLICY)
    return uow


# -- what the email adapter reads --------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers, reason",
    [
        ("Auto-Submitted: auto-replied", "auto_submitted"),
        ("Auto-Submitted: auto-generated", "auto_submitted"),
        ("Auto-Submitted: Auto-Notified; owner-email=x@example.hk", "auto_submitted"),
        ("Return-Path: <>", "auto_submitted"),
        ("List-Id: Venue Weekly <weekly.venues.example.org>", "bulk"),
        ("List-Unsubscribe: <mailto:unsubscribe@venues.example.org>", "bulk"),
        ("Precedence: bulk", "bulk"),
        ("Precedence: list", "bulk"),
        ("Precedence: junk", "bulk"),
        ("X-Spam-Flag: YES", "spam"),
        ("X-Spam-Status: Yes, score=10.4 required=5.0 tests=URIBL_BLACK", "spam"),
    ],
)
def test_mail_from_machines_lists_and_spam_is_marked_automatic(headers: str, reason: str) -> None:
    n = read(mail(headers))
    assert n.kind == "inquiry"
    assert n.extra["automatic"] == reason and "automatic" in n.flags


@pytest.mark.parametrize(
    "headers",
    ["", "Auto-Submitted: no", "X-Spam-Flag: NO", "X-Spam-Status: No, score=0.1", "Return-Path: <chan@example.hk>"],
)
def test_a_person_s_mail_is_not_marked_automatic(headers: str) -> None:
    assert "automatic" not in read(mail(headers)).extra


def test_a_postfix_bounce_names_the_address_that_failed_and_the_returned_message() -> None:
    n = read(corpus("bounce_postfix_dsn.eml"))
    assert n.kind == "delivery_failure"
    assert n.contact is not None and n.contact.email == "wong.kar.fai@example.net"
    assert n.extra["original_message_id"] == f"{ACKED}.ack@meetdesk.example"
    assert n.extra["status"] == "5.1.1" and n.extra["ours"] is True
    assert n.source_ref == "20261201014301.4Q2kLm0vZ2z9tG@mx1.example.net"


def test_a_bounce_from_mailer_daemon_with_no_address_is_read_not_refused() -> None:
    n = read(corpus("bounce_gmail_no_from.eml"))
    assert n.kind == "delivery_failure"
    assert n.contact is not None and n.contact.email == "no.such.person@gmail.com"


def test_a_delay_warning_reports_no_failure() -> None:
    n = read(corpus("bounce_delayed.eml"))
    assert n.kind == "delivery_report" and n.contact is None


def test_a_plain_text_bounce_from_the_postmaster_is_a_report_not_an_inquiry() -> None:
    n = read(mail("", sender="postmaster@mx.example.net"))
    assert n.kind == "delivery_report"


# -- what intake does with them ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["autoreply_outlook_ooo.eml", "list_newsletter.eml", "spam_spamassassin.eml"])
async def test_automatic_mail_is_an_inquiry_that_nothing_automatic_answers(name: str) -> None:
    uow = await apply(FakeIntakeStore(), corpus(name))
    assert uow.types() == ["inquiry.received"]
    (inquiry,) = uow.events("inquiry.received")
    assert inquiry["automatic"] in {"auto_submitted", "bulk", "spam"}


async def test_a_bounce_of_an_acknowledgement_is_notification_failed_for_the_known_customer() -> None:
    store = FakeIntakeStore()
    customer = store.known_customer("Wong", ("email", "wong.kar.fai@example.net"))

    uow = await apply(store, corpus("bounce_postfix_dsn.eml"))

    assert uow.types() == ["notification.failed"]
    (failed,) = uow.events("notification.failed")
    assert failed["channel"] == "email" and failed["address"] == "wong.kar.fai@example.net"
    assert failed["customer_id"] == str(customer) and failed["inquiry_id"] == str(ACKED)
    assert failed["status"] == "5.1.1" and failed["original_message_id"] == f"{ACKED}.ack@meetdesk.example"
    assert list(store.customers) == [customer], "no customer is made of a bounce"
    assert store.inquiries == {} and store.conversations == {}


async def test_a_bounce_to_an_unknown_address_still_fails_our_acknowledgement_without_a_customer() -> None:
    uow = await apply(FakeIntakeStore(), corpus("bounce_gmail_no_from.eml"))
    (failed,) = uow.events("notification.failed")
    assert failed["customer_id"] is None and failed["inquiry_id"] == str(ACKED)


async def test_backscatter_about_mail_we_never_sent_to_nobody_we_know_is_recorded_only() -> None:
    raw = corpus("bounce_gmail_no_from.eml").replace(f"<{ACKED}.ack@".encode(), b"<someone-else@")
    raw = raw.replace(b"From: meetdesk <desk@meetdesk.example>", b"From: Forged <sales@elsewhere.example>")
    store = FakeIntakeStore()
    uow = await apply(store, raw)
    assert uow.types() == []
    assert len(store.deliveries) == 1 and store.customers == {}


async def test_a_delay_warning_says_nothing() -> None:
    store = FakeIntakeStore()
    uow = await apply(store, corpus("bounce_delayed.eml"))
    assert uow.types() == [] and len(store.deliveries) == 1


async def test_a_redelivered_bounce_fails_the_notification_once() -> None:
    store = FakeIntakeStore()
    await apply(store, corpus("bounce_postfix_dsn.eml"))
    again = await apply(store, corpus("bounce_postfix_dsn.eml"), now=T0 + timedelta(minutes=1))
    assert again.types() == []


# -- our own acknowledgements ----------------------------------------------------------------------------
async def test_an_acknowledgement_is_marked_automatic_and_carries_its_message_id() -> None:
    uow = await apply(FakeIntakeStore(), mail(""))
    (inquiry,) = uow.events("inquiry.received")
    (ack,) = uow.events("notification.requested")
    assert ack["parameters"]["auto_submitted"] == "auto-replied"
    assert ack["parameters"]["message_id"] == f"{inquiry['inquiry_id']}.ack@meetdesk.example"
    assert domain.acked_inquiry(ack["parameters"]["message_id"]) == inquiry["inquiry_id"]
    assert "automatic" not in inquiry


async def test_an_address_gets_at_most_one_acknowledgement_in_the_period() -> None:
    store = FakeIntakeStore()
    first = await apply(store, mail("", ref="a@example.hk"), mail("", ref="b@example.hk"))
    assert first.types() == ["inquiry.received", "inquiry.received", "notification.requested"]

    within = await apply(store, mail("", ref="c@example.hk"), now=T0 + timedelta(minutes=59))
    assert within.types() == ["inquiry.received"]

    after = await apply(store, mail("", ref="d@example.hk"), now=T0 + timedelta(minutes=61))
    assert after.types() == ["inquiry.received", "notification.requested"]


async def test_other_addresses_are_acknowledged_in_the_same_period() -> None:
    store = FakeIntakeStore()
    await apply(store, mail("", ref="a@example.hk"))
    other = await apply(
        store, mail("", sender="Lee <lee@example.hk>", ref="b@example.hk"), now=T0 + timedelta(minutes=1)
    )
    assert other.types() == ["inquiry.received", "notification.requested"]


async def test_with_no_period_every_inquiry_is_acknowledged() -> None:
    policy = Policy.of(CTX, 1_048_576, acknowledge_every_minutes=0)
    store = FakeIntakeStore()
    emitted: list[str] = []
    for i, now in enumerate((T0, T0 + timedelta(seconds=1))):
        uow = FakeUnitOfWork(store, producer="intake", now=now)
        items = [domain.prepare(read(mail("", ref=f"{i}@example.hk")), uuid.uuid4(), now, policy)]
        await handlers.apply(uow, items, now, policy)
        emitted += uow.types()
    assert emitted.count("notification.requested") == 2


def test_an_acknowledgement_message_id_names_its_inquiry_and_nothing_else_does() -> None:
    inquiry = uuid.uuid4()
    assert domain.acked_inquiry(domain.ack_message_id(inquiry, ("meetdesk.example",))) == str(inquiry)
    for other in (None, "", "abc.ack@x", f"{inquiry}@meetdesk.example", f"{inquiry}.reply@meetdesk.example"):
        assert domain.acked_inquiry(other) is None


async def test_an_automatic_message_from_our_own_domain_is_no_agent_s_reply() -> None:
    store = FakeIntakeStore()
    raw = mail("Auto-Submitted: auto-replied\nIn-Reply-To: <m0@example.hk>", sender="Desk <desk@meetdesk.example>")
    assert "automated" in read(raw).flags
    assert (await apply(store, raw)).types() == []
    person = mail("In-Reply-To: <m0@example.hk>", sender="Ho <ho@meetdesk.example>", ref="m2@example.hk")
    assert (await apply(store, person)).types() == ["agent.replied"]
