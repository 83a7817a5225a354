"""What an inquiry is about: language, intent, complaint category and booking details.

Plain Python over a :class:`Normalised` item; structured payloads say their intent, free text is
classified (``classify``) and, for booking requests, mined for date, time, attendees and equipment
(``extract``). No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from shared.contract.common import MeetingDetails

from .classify import classify
from .extract import extract_booking
from .normalise import detect_language
from .normalised import Normalised


@dataclass(frozen=True)
class Understanding:
    intent: str
    language: str
    category: str | None = None
    meeting: MeetingDetails | None = None
    missing: list[str] = field(default_factory=list)  # what an agent still has to ask


def understand(n: Normalised, received_at: datetime, tz: ZoneInfo) -> Understanding:
    """``received_at``: when the message was written (relative dates such as 明天 count from it)."""
    text = " ".join(p for p in (n.subject, n.text) if p)
    language = n.language or detect_language(text)
    intent, category = n.intent, n.category
    if intent is None:
        verdict = classify(n.text, n.subject)
        intent = verdict.intent
        category = category or verdict.category
    meeting, missing = n.meeting, []
    if intent == "booking_request" and meeting is None:
        if n.text:
            found = extract_booking(text, received_at=received_at, tz=tz)
            meeting = found.to_meeting(name=(n.subject or "").strip()[:200] or _default_name(language))
            missing = [] if meeting else list(found.missing)
        else:
            missing = ["date", "time", "attendees"]
    return Understanding(intent=intent, language=language, category=category, meeting=meeting, missing=missing)


def _default_name(language: str) -> str:
    return {"zh-Hant": "會議", "zh-Hans": "会议"}.get(language, "Meeting")
