"""What registration adds to a complaint, in plain Python: the service step it concerns, a severity
estimated from its text when none was given (with the reason), and the booking it is about — checked
against, or found in, complaints' own view of the bookings (kept from booking's events).

The estimates are rules over the words of the complaint (zh-Hant, zh-Hans, en), each with the reason
it gives; an agent corrects them with ``complaint.assign``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import get_args

from shared.contract.commands import ServiceStep

SERVICE_STEPS: tuple[str, ...] = get_args(ServiceStep)
OTHER_STEP = "other"

# severity estimated from the text: what makes a complaint urgent (緊急或重大), with the reason shown
URGENT = "critical"
SEVERITY_SIGNALS: Mapping[str, tuple[str, ...]] = {
    "injury": ("injur", "hurt", "bleeding", "ambulance", "受傷", "受伤", "流血", "救護車", "救护车", "跌倒", "摔倒"),
    "fire": ("fire", "smoke", "火警", "火災", "火灾", "着火", "起火", "冒煙", "冒烟", "燒焦", "烧焦"),
    "safety": (
        "safety",
        "unsafe",
        "hazard",
        "dangerous",
        "electric shock",
        "安全",
        "危險",
        "危险",
        "觸電",
        "触电",
    ),
    "meeting_not_held": (
        "could not take place",
        "couldn't take place",
        "could not go ahead",
        "could not be held",
        "unable to hold",
        "had to cancel",
        "had to be cancelled",
        "could not start",
        "無法舉行",
        "无法举行",
        "未能舉行",
        "未能举行",
        "無法進行",
        "无法进行",
        "開不成",
        "开不成",
        "被迫取消",
    ),
}

# the service step from the words of the complaint; else from its category
STEP_SIGNALS: Mapping[str, tuple[str, ...]] = {
    "booking": ("booking", "reservation", "double booked", "預訂", "预订", "訂房", "订房", "預約", "预约"),
    "preparation": ("set up", "setup", "not ready", "佈置", "布置", "準備", "准备", "未準備好", "未准备好"),
    "on_site": (
        "reception",
        "front desk",
        "usher",
        "on site",
        "on-site",
        "air con",
        "air-con",
        "temperature",
        "dirty",
        "現場",
        "现场",
        "接待",
        "前台",
        "服務員",
        "服务员",
        "冷氣",
        "冷气",
        "空調",
        "空调",
        "清潔",
        "清洁",
    ),
    "catering": ("cater", "coffee", "food", "lunch", "tea break", "茶點", "茶点", "餐", "咖啡", "飲品", "饮品"),
    "av": (
        "projector",
        "microphone",
        "speaker",
        "sound",
        "video",
        "screen",
        "wifi",
        "wi-fi",
        "投影",
        "麥克風",
        "麦克风",
        "咪",
        "音響",
        "音响",
        "視像",
        "视像",
        "螢幕",
        "屏幕",
        "網絡",
        "网络",
    ),
    "after_meeting": (
        "invoice",
        "bill",
        "refund",
        "lost property",
        "發票",
        "发票",
        "賬單",
        "账单",
        "退款",
        "會後",
        "会后",
    ),
}
STEP_BY_CATEGORY: Mapping[str, str] = {
    "catering": "catering",
    "equipment_failure": "av",
    "service_attitude": "on_site",
    "venue_environment": "on_site",
    "meeting_arrangement": "preparation",
}

_NEGATION_EN = re.compile(r"\b(no|not|nobody|no one|without|never|nothing)\b[^.!?;,]{0,24}$")
_NEGATION_ZH = ("沒", "没", "無人", "无人", "並無", "并无", "不是")


_WHOLE_WORDS = frozenset({"fire", "hurt", "bill", "food", "smoke", "sound", "screen", "speaker"})


def _found(text: str, term: str) -> Iterable[tuple[int, str]]:
    """Where ``term`` occurs in ``text`` (lower case) and the word found: English from a word's start (a
    stem takes the rest of its word; a few short words only whole), Chinese anywhere."""
    if not term.isascii():
        return ((m.start(), m.group()) for m in re.finditer(re.escape(term), text))
    rest = r"\b" if term in _WHOLE_WORDS or " " in term else r"\w*"
    return ((m.start(), m.group()) for m in re.finditer(rf"\b{re.escape(term)}{rest}", text))


def _negated(text: str, at: int, term: str) -> bool:
    """Whether the words just before ``at`` deny it ("nobody was hurt", 沒有人受傷)."""
    before = text[max(0, at - 40) : at]
    if term.isascii():
        return _NEGATION_EN.search(before) is not None
    return any(word in before[-4:] for word in _NEGATION_ZH)


def _matches(text: str, terms: Sequence[str]) -> list[str]:
    """The words of ``terms`` the text says (and does not deny), in order, each once."""
    found = [word for t in terms for at, word in _found(text, t) if not _negated(text, at, t)]
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Estimate:
    value: str
    source: str  # given, estimated, default
    reason: str


def estimate_severity(given: str | None, text: str, default: str) -> Estimate:
    """The severity given with the complaint; else urgent when its text speaks of an injury, a fire, a
    safety hazard or a meeting that could not take place (not when negated: "nobody was hurt"); else
    the default."""
    if given is not None:
        return Estimate(given, "given", "given with the complaint")
    lowered = text.lower()
    found = {signal: words for signal, terms in SEVERITY_SIGNALS.items() if (words := _matches(lowered, terms))}
    if found:
        reason = "; ".join(f"{signal.replace('_', ' ')}: {', '.join(words)}" for signal, words in found.items())
        return Estimate(URGENT, "estimated", f"estimated from the text ({reason})")
    return Estimate(default, "default", "nothing in the text makes it urgent")


def estimate_service_step(text: str, category: str | None) -> Estimate:
    """The service step whose words the text names most (ties: the first listed); else the category's."""
    lowered = text.lower()
    hits = {step: words for step, terms in STEP_SIGNALS.items() if (words := _matches(lowered, terms))}
    if hits:
        step = max(hits, key=lambda s: len(hits[s]))
        return Estimate(step, "estimated", f"estimated from the text ({', '.join(hits[step])})")
    if category in STEP_BY_CATEGORY:
        return Estimate(STEP_BY_CATEGORY[category], "estimated", f"from the category {category}")
    return Estimate(OTHER_STEP, "default", "nothing in the text names a service step")


# -- the bookings -----------------------------------------------------------------------------------
CONFIRMED, CANCELLED = "confirmed", "cancelled"
# a complaint naming no booking concerns the customer's meeting under way or just past when they wrote
AROUND_BEFORE, AROUND_AFTER = timedelta(hours=2), timedelta(hours=24)


@dataclass(frozen=True)
class BookingView:
    """A booking as complaints knows it from booking's events."""

    booking_id: str
    customer_id: str | None = None
    room_id: str | None = None
    name: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    equipment: tuple[str, ...] = ()
    status: str = CONFIRMED
    attendees: int | None = None  # a re-run of the meeting asks for as many (domain/rerun.py)


@dataclass(frozen=True)
class BookingLink:
    booking_id: str | None
    how: str | None  # given, given_unknown, given_other_customer, inferred; None: none
    booking: BookingView | None = None

    @property
    def reason(self) -> str | None:
        return {
            "given": "named by the complaint",
            "given_unknown": "named by the complaint; not (yet) known from booking",
            "given_other_customer": "named by the complaint, but booked by another customer",
            "inferred": "the customer's meeting at the time of the complaint",
        }.get(self.how or "")


def link_booking(
    booking_id: str | None,
    customer_id: str | None,
    at: datetime,
    named: BookingView | None,
    customers: Sequence[BookingView],
) -> BookingLink:
    """The booking a complaint is about: the one it names (checked: known? the same customer?), or the
    customer's one meeting under way or just past at ``at`` (two or more: none is guessed)."""
    if booking_id is not None:
        if named is None:
            return BookingLink(booking_id, "given_unknown")
        if customer_id is not None and named.customer_id not in (None, customer_id):
            return BookingLink(booking_id, "given_other_customer", named)
        return BookingLink(booking_id, "given", named)
    around = [
        b
        for b in customers
        if b.status == CONFIRMED
        and b.start is not None
        and b.end is not None
        and b.start - AROUND_BEFORE <= at <= b.end + AROUND_AFTER
    ]
    if len(around) == 1:
        return BookingLink(around[0].booking_id, "inferred", around[0])
    return BookingLink(None, None)


def booking_news(view: BookingView | None, event_type: str, data: Mapping[str, object]) -> BookingView:
    """Complaints' view of a booking after one of booking's events about it (``booking.confirmed``,
    ``booking.cancelled``, ``booking.rescheduled``, ``booking.updated``; ``data``: the event's fields).
    A cancelled booking stays cancelled, whatever comes after."""
    b = view or BookingView(str(data["booking_id"]))
    fields: dict[str, object] = {"customer_id": data.get("customer_id") or b.customer_id}
    if data.get("room_id"):
        fields["room_id"] = data["room_id"]
    if event_type in ("booking.confirmed", "booking.cancelled", "booking.rescheduled"):
        fields.update(start=data["start"], end=data["end"])
    if event_type == "booking.confirmed":
        fields["name"] = data.get("name")
    if event_type in ("booking.confirmed", "booking.updated"):
        fields["equipment"] = tuple(data.get("equipment") or ())  # type: ignore[call-overload]
        fields["attendees"] = data.get("attendees") or b.attendees
    if event_type == "booking.cancelled":
        fields["status"] = CANCELLED
    return replace(b, **fields)  # type: ignore[arg-type]
