from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

Equipment = Literal["projector", "audio", "microphone", "video_conference", "whiteboard", "lighting"]
Category = Literal[
    "service_attitude", "equipment_failure", "venue_environment", "meeting_arrangement", "catering", "other"
]
Severity = Literal["low", "normal", "high", "critical"]
Channel = Literal["email", "phone", "chat", "wechat", "webform", "onsite", "survey"]
Intent = Literal["booking_request", "complaint", "inquiry", "feedback", "cancellation", "other"]
Language = Literal["zh-Hant", "zh-Hans", "en", "other"]

ShortText = Annotated[str, Field(max_length=500)]
LongText = Annotated[str, Field(max_length=20_000)]
Ident = Annotated[str, Field(min_length=1, max_length=200)]


class Model(BaseModel):
    """Inbound and contract models ignore unknown fields and reject missing required ones."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Recurrence(Model):
    freq: Literal["daily", "weekly"]
    count: Annotated[int, Field(ge=1, le=366)] | None = None
    until: date | None = None


class MeetingDetails(Model):
    """The booking fields of DOMAIN.md."""

    name: ShortText
    start: AwareDatetime
    end: AwareDatetime
    attendees: Annotated[int, Field(ge=1, le=100_000)]
    room_id: Ident | None = None
    agenda: LongText | None = None
    equipment: list[Equipment] = Field(default_factory=list)
    catering: ShortText | None = None
    materials: ShortText | None = None
    notes: LongText | None = None
    recurrence: Recurrence | None = None

    @model_validator(mode="after")
    def _end_after_start(self) -> MeetingDetails:
        if self.end <= self.start:
            raise ValueError("meeting end must be after its start")
        return self
