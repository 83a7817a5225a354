"""The project's own inbound JSON schemas (CONTRACT.md): web forms, on-site entries, surveys."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, TypeAdapter

from .common import Category, Ident, LongText, MeetingDetails, Model, Severity, ShortText


class CustomerContact(Model):
    name: ShortText | None = None
    email: ShortText | None = None
    phone: ShortText | None = None


class _Submission(Model):
    submission_id: Ident
    submitted_at: AwareDatetime
    customer: CustomerContact


class WebformBookingRequest(_Submission):
    kind: Literal["booking_request"]
    meeting: MeetingDetails


class WebformComplaint(_Submission):
    kind: Literal["complaint"]
    booking_id: Ident | None = None
    category: Category | None = None
    text: LongText


class WebformInquiry(_Submission):
    kind: Literal["inquiry"]
    subject: ShortText | None = None
    text: LongText


class WebformFeedback(_Submission):
    kind: Literal["feedback"]
    booking_id: Ident | None = None
    score: Annotated[int, Field(ge=1, le=5)]
    text: LongText | None = None


Webform = Annotated[
    WebformBookingRequest | WebformComplaint | WebformInquiry | WebformFeedback,
    Field(discriminator="kind"),
]
WEBFORM = TypeAdapter(Webform)


class OnsiteEntry(Model):
    kind: Literal["feedback", "incident", "complaint"]
    entry_id: Ident
    recorded_at: AwareDatetime
    staff_id: Ident
    booking_id: Ident
    room_id: Ident | None = None
    customer: CustomerContact | None = None
    text: LongText
    category: Category | None = None
    severity: Severity | None = None


class SurveySubject(Model):
    type: Literal["booking", "complaint"]
    id: Ident
    # extensions: what the survey request named (booking.completed's survey), echoed back
    room_id: Ident | None = None
    agent_id: Ident | None = None


class SurveyAnswer(Model):
    subject: SurveySubject
    score: Annotated[int, Field(ge=1, le=5)]
    comment: LongText | None = None
    respondent: CustomerContact | ShortText | None = None
    response_id: Ident | None = None
    submitted_at: AwareDatetime | None = None
