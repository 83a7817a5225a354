"""What an inquiry is about: language, intent, complaint category and booking details.

Plain Python over a :class:`Normalised` item; structured payloads say their intent, free text is
classified (``classify``) and, for booking requests, mined for date, time, attendees and equipment
(``extract``). No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
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
    # an incomplete booking request: the meeting fields understood (BookingDetails' names), for the desk
    draft: dict[str, Any] | None = None
    # the text is Chinese written the same in both scripts (位置信息): ``language`` is the channel's
    # usual one, and the conversation's earlier language, if Chinese, is preferred (domain.decide)
    script_undecided: bool = False


def understand(n: Normalised, received_at: datetime, tz: ZoneInfo, *, usual_chinese: str = "zh-Hant") -> Understanding:
    """``received_at``: when the message was written (relative dates such as 明天 count from it);
    ``usual_chinese``: the channel's usual script, for Chinese text that does not show its script."""
    text = " ".join(p for p in (n.subject, n.text) if p)
    undecided = False
    language = n.language
    if language is None:
        language = detect_language(text, default_chinese="")
        undecided = language == ""
        language = language or usual_chinese
    intent, category = n.intent, n.category
    if intent is None:
        verdict = classify(n.text, n.subject)
        intent = verdict.intent
        category = category or verdict.category
    meeting, missing, draft = n.meeting, [], None
    if intent == "booking_request" and meeting is None:
        name = (n.subject or "").strip()[:200] or _default_name(language)
        if n.text:
            found = extract_booking(text, received_at=received_at, tz=tz)
            meeting = found.to_meeting(name=name)
            missing = [] if meeting else list(found.missing)
            draft = None if meeting else found.draft(name)
        else:
            missing = ["date", "time", "attendees"]
            draft = {"name": name, "equipment": []}
    return Understanding(
        intent=intent,
        language=language,
        category=category,
        meeting=meeting,
        missing=missing,
        draft=draft,
        script_undecided=undecided,
    )


def _default_name(language: str) -> str:
    return {"zh-Hant": "會議", "zh-Hans": "会议"}.get(language, "Meeting")
