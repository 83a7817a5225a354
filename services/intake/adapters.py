"""Channel adapters: each turns one channel's native payload into :class:`Normalised` items.

Plain functions over bytes and the contract models; they raise :class:`shared.runtime.Rejected`
for input that can never be accepted. The project's own JSON channels (:data:`FORMS`) live here;
email, phone (Asterisk CDR), chat (Chatwoot) and WeChat have a module each under ``channels/``. An
adapter reads no clock: a payload without a time of its own leaves ``received_at`` empty and is
dated when it reaches intake (:func:`services.intake.domain.prepare`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.contract.inbound import (
    WEBFORM,
    CustomerContact,
    OnsiteEntry,
    SurveyAnswer,
    WebformBookingRequest,
    WebformComplaint,
    WebformFeedback,
    WebformInquiry,
)
from shared.runtime import Incoming, Rejected

from .channels import chat, email, phone, wechat
from .normalise import detect_language
from .normalised import ChannelContext, Normalised


def webform(msg: Incoming, ctx: ChannelContext) -> list[Normalised]:
    form = msg.parse(WEBFORM)
    base: dict[str, Any] = {
        "channel": "webform",
        "source_ref": form.submission_id,
        "received_at": form.submitted_at,
        "contact": form.customer,
    }
    match form:
        case WebformBookingRequest():
            m = form.meeting
            text = " ".join(p for p in (m.name, m.agenda, m.notes) if p)
            return [
                Normalised(
                    **base,
                    intent="booking_request",
                    text=text,
                    subject=m.name,
                    language=detect_language(text),
                    meeting=m,
                )
            ]
        case WebformComplaint():
            return [
                Normalised(
                    **base,
                    intent="complaint",
                    text=form.text,
                    language=detect_language(form.text),
                    booking_id=form.booking_id,
                    category=form.category,
                )
            ]
        case WebformInquiry():
            text = " ".join(p for p in (form.subject, form.text) if p)
            return [
                Normalised(
                    **base, intent="inquiry", text=form.text, subject=form.subject, language=detect_language(text)
                )
            ]
        case WebformFeedback():
            return [
                Normalised(
                    **base,
                    intent="feedback",
                    text=form.text,
                    language=detect_language(form.text),
                    booking_id=form.booking_id,
                    score=form.score,
                    feedback_subject=("booking", form.booking_id) if form.booking_id else ("service", None),
                )
            ]
    raise Rejected(f"unknown web form kind {getattr(form, 'kind', None)!r}")  # pragma: no cover


def onsite(msg: Incoming, ctx: ChannelContext) -> list[Normalised]:
    entry = msg.parse(OnsiteEntry)
    intent = "feedback" if entry.kind == "feedback" else "complaint"
    return [
        Normalised(
            channel="onsite",
            source_ref=entry.entry_id,
            received_at=entry.recorded_at,
            intent=intent,
            contact=entry.customer,
            text=entry.text,
            language=detect_language(entry.text),
            agent_id=entry.staff_id,
            booking_id=entry.booking_id,
            category=entry.category,
            severity=entry.severity,
            extra={"room_id": entry.room_id, "onsite_kind": entry.kind},
        )
    ]


def survey(msg: Incoming, ctx: ChannelContext) -> list[Normalised]:
    answer = msg.parse(SurveyAnswer)
    contact = answer.respondent if isinstance(answer.respondent, CustomerContact) else None
    source_ref = answer.response_id or f"{answer.subject.type}:{answer.subject.id}:{msg.dedupe_key}"
    return [
        Normalised(
            channel="survey",
            source_ref=source_ref,
            received_at=answer.submitted_at,
            intent="feedback",
            contact=contact,
            text=answer.comment,
            language=detect_language(answer.comment),
            score=answer.score,
            feedback_subject=(answer.subject.type, answer.subject.id),
            kind="feedback",
            booking_id=answer.subject.id if answer.subject.type == "booking" else None,
            # what the survey request named (the booking's room, the agent who handled it), echoed back
            agent_id=answer.subject.agent_id,
            extra={"room_id": answer.subject.room_id} if answer.subject.room_id else {},
        )
    ]


Adapter = Callable[[Incoming, ChannelContext], list[Normalised]]

# One adapter per channel of the contract (a unit test holds the keys to ``Channel``).
ADAPTERS: dict[str, Adapter] = {
    "webform": webform,
    "onsite": onsite,
    "survey": survey,
    "email": email.adapt,
    "phone": phone.adapt,
    "chat": chat.adapt,
    "wechat": wechat.adapt,
}

# The project's own JSON payloads (CONTRACT.md), also accepted over HTTP (``POST /inbound/{channel}``):
# each channel's schema and the field naming a submission (its message id). Their submitter fills in
# the customer's contact and must correct it when it is invalid.
FORMS: dict[str, tuple[Any, str | None]] = {
    "webform": (WEBFORM, "submission_id"),
    "onsite": (OnsiteEntry, "entry_id"),
    "survey": (SurveyAnswer, None),
}
