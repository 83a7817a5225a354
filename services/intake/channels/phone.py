"""Phone channel: an Asterisk AMI ``Cdr`` event plus the agent's wrap-up → :class:`Normalised` items.

Body (routing key ``phone``)::

    {"cdr": {...AMI Cdr fields, as Asterisk names them...}, "agent_id": ..., "notes": ...,
     "booking": {...MeetingDetails...} | null, "complaint": {"category", "severity", "booking_id", "text"} | null}

A call that was not answered (any ``Disposition`` other than ``ANSWERED``) is one ``missed_call``. An
answered call is two items: the customer's ``inquiry`` (at ``StartTime``) and our ``agent_reply`` (at
``AnswerTime``, with the time it took to answer). Asterisk writes times as ``YYYY-MM-DD HH:MM:SS`` in
the PBX's local time, which is the venue's (``ChannelContext.venue_timezone``); all differences are
taken in UTC so a daylight-saving change between start and answer is counted correctly.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import ConfigDict, Field, model_validator

from shared.contract.common import Category, Ident, LongText, MeetingDetails, Model, Severity, ShortText
from shared.contract.inbound import CustomerContact
from shared.runtime import Incoming, Rejected

from ..normalised import ChannelContext, Normalised

CHANNEL = "phone"
ANSWERED = "ANSWERED"

TimeText = Annotated[str, Field(min_length=1, max_length=64)]
Seconds = Annotated[int, Field(ge=0, le=10_000_000)]


class _Lenient(Model):
    """Ids may arrive as JSON numbers; blank strings (Asterisk's "no value") count as absent."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, coerce_numbers_to_str=True)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: None if isinstance(v, str) and not v.strip() else v for k, v in data.items()}
        return data


class Cdr(_Lenient):
    """The fields of an AMI ``Cdr`` event this adapter uses (the others are ignored)."""

    unique_id: Ident = Field(alias="UniqueID")
    caller_id: ShortText | None = Field(None, alias="CallerID")
    source: ShortText | None = Field(None, alias="Source")
    destination: ShortText | None = Field(None, alias="Destination")
    destination_context: ShortText | None = Field(None, alias="DestinationContext")
    channel: ShortText | None = Field(None, alias="Channel")
    start_time: TimeText = Field(alias="StartTime")
    answer_time: TimeText | None = Field(None, alias="AnswerTime")
    end_time: TimeText | None = Field(None, alias="EndTime")
    duration: Seconds | None = Field(None, alias="Duration")
    billable_seconds: Seconds | None = Field(None, alias="BillableSeconds")
    disposition: Annotated[str, Field(min_length=1, max_length=32)] = Field(alias="Disposition")
    ama_flags: ShortText | None = Field(None, alias="AMAFlags")
    account_code: ShortText | None = Field(None, alias="AccountCode")
    user_field: ShortText | None = Field(None, alias="UserField")


class CallComplaint(_Lenient):
    """A complaint the agent recorded during the call."""

    category: Category | None = None
    severity: Severity | None = None
    booking_id: Ident | None = None
    text: LongText | None = None


class PhoneCall(_Lenient):
    cdr: Cdr
    agent_id: Ident | None = None
    notes: LongText | None = None
    booking: MeetingDetails | None = None
    complaint: CallComplaint | None = None


def adapt(msg: Incoming, ctx: ChannelContext) -> list[Normalised]:
    call = msg.parse(PhoneCall)
    cdr = call.cdr
    tz = ZoneInfo(ctx.venue_timezone)
    start = _time(cdr.start_time, "StartTime", tz)
    end = _time(cdr.end_time, "EndTime", tz) if cdr.end_time else None
    if end is not None and end < start:
        raise Rejected("cdr: EndTime is before StartTime")
    contact = caller_contact(cdr.caller_id, cdr.source)
    conversation_key = f"call:{cdr.unique_id}"
    disposition = cdr.disposition.strip().upper()

    if disposition != ANSWERED:
        return [
            Normalised(
                channel=CHANNEL,
                source_ref=cdr.unique_id,
                received_at=start,
                contact=contact,
                kind="missed_call",
                text=None,
                conversation_key=conversation_key,
                extra={"disposition": disposition, "destination": cdr.destination},
            )
        ]

    answer = _answered_at(cdr, start, end, tz)
    agent_id = call.agent_id
    notes = call.notes.strip() if call.notes and call.notes.strip() else None
    booking, complaint = call.booking, call.complaint
    flags: list[str] = []
    if complaint is not None:
        # A complaint outranks a booking made in the same call: it carries a response deadline.
        intent: str | None = "complaint"
        if booking is not None:
            flags.append("booking_and_complaint")
    elif booking is not None:
        intent = "booking_request"
    elif notes:
        intent = None  # free text: the classifier decides
    else:
        intent = "other"
    complaint_text = complaint.text.strip() if complaint and complaint.text and complaint.text.strip() else None
    booking_text = " ".join(p for p in (booking.name, booking.agenda, booking.notes) if p) if booking else None
    inquiry = Normalised(
        channel=CHANNEL,
        source_ref=cdr.unique_id,
        received_at=start,
        contact=contact,
        kind="inquiry",
        intent=intent,
        text=notes or complaint_text or booking_text or None,
        subject=booking.name if booking else None,
        agent_id=agent_id,
        booking_id=complaint.booking_id if complaint else None,
        category=complaint.category if complaint else None,
        severity=complaint.severity if complaint else None,
        meeting=booking,
        conversation_key=conversation_key,
        flags=flags,
        extra={"destination": cdr.destination, "billable_seconds": cdr.billable_seconds},
    )
    reply = Normalised(
        channel=CHANNEL,
        source_ref=f"{cdr.unique_id}:answer",
        received_at=answer,
        contact=contact,
        kind="agent_reply",
        agent_id=agent_id,
        conversation_key=conversation_key,
        response_seconds=(answer - start).total_seconds(),
    )
    return [inquiry, reply]


# -- times --------------------------------------------------------------------------------------
_ASTERISK_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
)


def _time(value: str, field: str, tz: ZoneInfo) -> datetime:
    """An Asterisk time (venue-local unless it carries an offset) as an aware UTC datetime."""
    text = value.strip()
    if not _ASTERISK_TIME.fullmatch(text):
        raise Rejected(f"cdr.{field}: not a time of the form YYYY-MM-DD HH:MM:SS: {text[:40]!r}")
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise Rejected(f"cdr.{field}: invalid time {text[:40]!r}: {exc}") from None


def _answered_at(cdr: Cdr, start: datetime, end: datetime | None, tz: ZoneInfo) -> datetime:
    if cdr.answer_time:
        answer = _time(cdr.answer_time, "AnswerTime", tz)
    elif end is not None and cdr.billable_seconds is not None:
        # Asterisk defines billsec as end − answer, so the answer time can be recovered.
        try:
            answer = end - timedelta(seconds=cdr.billable_seconds)
        except OverflowError:
            raise Rejected("cdr: EndTime minus BillableSeconds is out of range") from None
    else:
        raise Rejected("cdr: an ANSWERED call needs AnswerTime (or EndTime and BillableSeconds)")
    if answer < start:
        raise Rejected("cdr: AnswerTime is before StartTime")
    if end is not None and end < answer:
        raise Rejected("cdr: EndTime is before AnswerTime")
    return answer


# -- who called ---------------------------------------------------------------------------------
# Asterisk's forms: `"Chan Tai Man" <85221234567>`, `Chan Tai Man <85221234567>`, `<85221234567>`, `85221234567`.
_CALLER_ID = re.compile(r'\s*(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>[^<]*?))\s*<(?P<number>[^>]*)>\s*')
_NUMBER_LIKE = re.compile(r"\+?[0-9()\-.\s/]+")
_DIGIT = re.compile(r"[0-9]")
_PLACEHOLDERS = {"unknown", "anonymous", "private", "restricted", "unavailable", "withheld", "asterisk"}


def caller_contact(caller_id: str | None, source: str | None) -> CustomerContact | None:
    """The caller's name and number as Asterisk reports them; the number stays raw (intake makes it E.164)."""
    name, number = parse_caller_id(caller_id)
    if number is None:
        number = _number(source)
    if name is None and number is None:
        return None
    return CustomerContact(name=name, phone=number)


def parse_caller_id(caller_id: str | None) -> tuple[str | None, str | None]:
    if not caller_id or not caller_id.strip():
        return None, None
    match = _CALLER_ID.fullmatch(caller_id)
    if match:
        raw_name = match["quoted"]
        raw_name = re.sub(r"\\(.)", r"\1", raw_name) if raw_name is not None else match["bare"]
        number = _number(match["number"])
        return _name(raw_name, number), number
    text = caller_id.strip()
    if _NUMBER_LIKE.fullmatch(text):
        return None, _number(text)
    return _name(text.strip('"'), None), None


def _number(raw: str | None) -> str | None:
    if raw is None:
        return None
    text = raw.strip()
    if not _DIGIT.search(text) or text.lower() in _PLACEHOLDERS:
        return None
    return text


def _name(raw: str | None, number: str | None) -> str | None:
    if raw is None:
        return None
    text = raw.strip()
    if not text or text.lower() in _PLACEHOLDERS:
        return None
    if _NUMBER_LIKE.fullmatch(text):  # Asterisk fills the name with the number when it has none
        return None
    return text
