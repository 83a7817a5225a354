"""Booking's configuration (environment, prefix ``MEETDESK_``): the shared part plus the venue's rules."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


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
