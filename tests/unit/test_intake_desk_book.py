"""Booking on a known customer's behalf (customer.book, issue 15): the decision (services/intake/desk.py),
the customer's reach as intake knows it, and the handler against the in-memory unit of work."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.intake import desk, handlers
from services.intake.desk import CustomerReach, Refusal
from services.intake.domain import Policy
from services.intake.normalised import ChannelContext
from shared.authz import COMMAND_RULES
from shared.contract.desk import CustomerBook
from shared.contract.events import BookingDetails, BookingRequested, ReplyRoute
from shared.runtime import derive_uuid
from shared.topology import INTAKE_COMMANDS

from .fakes import FakeUnitOfWork, command_in
from .intake_desk_fakes import FakeDeskStore

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
MEETING = BookingDetails(name="Board", start=T0 + timedelta(days=2), end=T0 + timedelta(days=2, hours=2), attendees=8)
POLICY = Policy.of(ChannelContext(), 1_048_576)
CUSTOMER = uuid.UUID("0b7a3c1e-0000-4000-8000-000000000001")
INQUIRY = uuid.UUID("0b7a3c1e-0000-4000-8000-0000000000aa")


def reach(routes: dict[str, str], last_channel: str | None = None, language: str | None = "zh-Hant") -> CustomerReach:
    return CustomerReach(CUSTOMER, routes, last_channel, language)


def book(r: CustomerReach | None, **kw: object) -> Refusal | BookingRequested:
    args: dict = {"reply_channel": None, "language": None, "wait_if_taken": False, "actor": "ann", **kw}
    return desk.book_for_customer(r, str(CUSTOMER), MEETING, inquiry_id=INQUIRY, **args)


# -- the decision ------------------------------------------------------------------------------------
def test_a_booking_for_a_customer_is_a_new_request_in_their_name_answered_where_they_last_wrote() -> None:
    r = reach({"email": "mei@example.hk", "wechat": "wechat:oW1"}, last_channel="wechat", language="zh-Hans")
    requested = book(r, wait_if_taken=True)
    assert requested == BookingRequested(
        inquiry_id=str(INQUIRY),
        customer_id=str(CUSTOMER),
        channel="wechat",
        language="zh-Hans",
        meeting=MEETING,
        reply_to=ReplyRoute(channel="wechat", address="wechat:oW1", language="zh-Hans"),
        wait_if_taken=True,
        agent_id="ann",
    )


def test_the_agent_chooses_another_of_the_customers_channels_and_language() -> None:
    r = reach({"email": "mei@example.hk", "phone": "+85291234567"}, last_channel="email")
    requested = book(r, reply_channel="phone", language="en")
    assert isinstance(requested, BookingRequested)
    assert (requested.channel, requested.language) == ("phone", "en")
    assert requested.reply_to == ReplyRoute(channel="phone", address="+85291234567", language="en")


@pytest.mark.parametrize(
    ("routes", "last_channel", "expected"),
    [
        ({"email": "a@b.hk", "phone": "+85291234567"}, "phone", "phone"),  # their last conversation's channel
        ({"email": "a@b.hk", "phone": "+85291234567"}, "webform", "email"),  # a form carries no reply: email first
        ({"phone": "+85291234567", "chat": "chatwoot:7"}, None, "phone"),  # then phone (SMS)
        ({"chat": "chatwoot:7", "wechat": "wechat:oW1"}, "onsite", "wechat"),  # then WeChat, then chat
    ],
)
def test_with_no_channel_asked_the_usual_one_is_chosen(
    routes: dict[str, str], last_channel: str | None, expected: str
) -> None:
    requested = book(reach(routes, last_channel))
    assert isinstance(requested, BookingRequested) and requested.reply_to is not None
    assert (requested.channel, requested.reply_to.channel, requested.reply_to.address) == (
        expected,
        expected,
        routes[expected],
    )


def test_an_unknown_customer_is_refused() -> None:
    refusal = book(None)
    assert isinstance(refusal, Refusal) and str(CUSTOMER) in refusal.reason


def test_a_channel_the_customer_has_no_address_on_is_refused_naming_the_ones_they_have() -> None:
    refusal = book(reach({"email": "a@b.hk", "phone": "+85291234567"}), reply_channel="wechat")
    assert isinstance(refusal, Refusal)
    assert "no address on wechat" in refusal.reason and "email, phone" in refusal.reason


def test_a_customer_with_no_address_at_all_is_booked_all_the_same_with_no_reply_route() -> None:
    requested = book(reach({}, last_channel="onsite", language=None))
    assert isinstance(requested, BookingRequested)
    assert (requested.reply_to, requested.channel, requested.language, requested.agent_id) == (
        None,
        "onsite",
        "en",
        "ann",
    )
    refusal = book(reach({}), reply_channel="email")
    assert isinstance(refusal, Refusal) and "answered on: none" in refusal.reason


def test_the_reach_of_a_customer_comes_from_their_identities_and_latest_conversations() -> None:
    r = desk.reach_of(
        CUSTOMER,
        [("email", "new@b.hk"), ("phone", "+85291234567"), ("email", "old@b.hk"), ("wechat", "oOld")],
        [("chat", "chatwoot:9", None), ("wechat", "wechat:oW1", "zh-Hans"), ("email", "mail:1", "en")],
        "zh-Hant",
    )
    assert r.routes == {"email": "new@b.hk", "phone": "+85291234567", "chat": "chatwoot:9", "wechat": "wechat:oW1"}
    assert (r.last_channel, r.language) == ("chat", "zh-Hant"), "the last conversation shows no language: the message's"
    assert desk.reply_channels(r) == ["chat", "email", "phone", "wechat"]
    follower = desk.reach_of(CUSTOMER, [("wechat", "oW2")], [("phone", "call:1", "zh-Hant")], None)
    assert follower.routes == {"wechat": "wechat:oW2"} and follower.language == "zh-Hant"
    assert desk.reply_channels(follower) == ["wechat"]


def test_customer_book_is_an_agents_command_on_intakes_queue() -> None:
    assert "customer.book" in {key for _, key in INTAKE_COMMANDS.bindings}
    assert COMMAND_RULES["customer.book"] == COMMAND_RULES["inquiry.complete"]


# -- the handler -------------------------------------------------------------------------------------
class ReachStore(FakeDeskStore):
    def __init__(self) -> None:
        super().__init__()
        self.reach: dict[uuid.UUID, CustomerReach] = {}

    async def customer_reach(self, customer_id: uuid.UUID) -> CustomerReach | None:
        return self.reach.get(customer_id)


async def test_the_handler_sends_booking_requested_with_an_inquiry_id_derived_from_the_command() -> None:
    store = ReachStore()
    store.reach[CUSTOMER] = reach({"email": "mei@example.hk"}, last_channel="email", language="zh-Hant")
    cmd = CustomerBook(command_id="cmd-1", actor="ann", customer_id=str(CUSTOMER), meeting=MEETING)
    u = FakeUnitOfWork(store, producer="intake", now=T0)
    msg = command_in(cmd)
    assert await handlers.customer_book(u, msg, T0, POLICY) is None
    assert u.types() == ["booking.requested"]
    (data,) = u.events("booking.requested")
    assert data["inquiry_id"] == str(derive_uuid("customer.book", "cmd-1"))
    assert (data["customer_id"], data["channel"], data["language"], data["agent_id"]) == (
        str(CUSTOMER),
        "email",
        "zh-Hant",
        "ann",
    )
    assert data["reply_to"] == {"channel": "email", "address": "mei@example.hk", "language": "zh-Hant"}
    assert u.emitted[0].correlation_id == msg.correlation_id


async def test_the_handler_refuses_an_unknown_or_malformed_customer_and_emits_nothing() -> None:
    for raw in (str(uuid.uuid4()), "not-a-uuid"):
        u = FakeUnitOfWork(ReachStore(), producer="intake", now=T0)
        cmd = CustomerBook(command_id="cmd-2", actor="ann", customer_id=raw, meeting=MEETING)
        reason = await handlers.customer_book(u, command_in(cmd), T0, POLICY)
        assert reason is not None and raw in reason
        assert u.emitted == []
