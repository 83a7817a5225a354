"""Booking's configuration (environment, prefix ``MEETDESK_``): the shared part plus the venue's rules
and the meeting's day (preparation deadlines, check-in, the waitlist)."""

from __future__ import annotations

from pydantic import Field, field_validator

from shared.settings import ServiceSettings

from .domain import DEPARTMENTS


class BookingSettings(ServiceSettings):
    service: str = "booking"
    setup_buffer_minutes: int = Field(15, ge=0, le=240, description="a room is blocked this long before a meeting")
    cleanup_buffer_minutes: int = Field(15, ge=0, le=240, description="and this long after it")
    opening_hour: int = Field(8, ge=0, le=23, description="the venue opens (venue time); rooms may have their own")
    closing_hour: int = Field(22, ge=1, le=24, description="the venue closes (venue time; 24 = midnight)")
    max_alternatives: int = Field(5, ge=0, le=20, description="alternatives a rejection offers at most")
    alternatives_days: int = Field(7, ge=0, le=60, description="how many days ahead alternatives are looked for")
    reminder_hours_before: float = Field(
        24, gt=0, le=24 * 14, description="the reminder falls due this long before a meeting"
    )
    preparation_lead_minutes: dict[str, int] = Field(
        default_factory=lambda: {"equipment": 120, "catering": 1440, "setup": 60},
        description="per department, how long before a meeting its preparation must be done (JSON, every department)",
    )
    no_show_minutes: int = Field(
        20,
        ge=0,
        le=24 * 60,
        description="a meeting nobody checked in for is released this long after its start (0: never)",
    )
    check_in_opens_minutes: int = Field(60, ge=0, le=24 * 60, description="check-in is accepted from this long before")
    waitlist_accept_minutes: int = Field(
        120, ge=1, le=14 * 24 * 60, description="a waiter has this long to take an offer"
    )
    waitlist_cutoff_minutes: int = Field(
        15,
        ge=0,
        le=24 * 60,
        description="an offer closes this long before the meeting (a later offer: this long after it)",
    )

    @field_validator("preparation_lead_minutes")
    @classmethod
    def _every_department(cls, value: dict[str, int]) -> dict[str, int]:
        if set(value) != set(DEPARTMENTS):
            raise ValueError(f"give a lead in minutes for each of {', '.join(DEPARTMENTS)}")
        if any(not 0 <= v <= 14 * 24 * 60 for v in value.values()):
            raise ValueError("a preparation lead is 0 to 20160 minutes")
        return value
