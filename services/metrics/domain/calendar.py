"""Business time: the seconds between two instants that fall within the desk's opening hours.

The calendar is the desk's (``MEETDESK_BUSINESS_HOURS``), the same one complaints' SLA clocks count in
(:mod:`shared.business_hours`); response times are measured in it as well as in calendar time when it is
configured.
"""

from __future__ import annotations

from datetime import datetime

from shared.business_hours import BusinessCalendar as BusinessHours
from shared.business_hours import measure

__all__ = ["BusinessHours", "business_seconds"]


def business_seconds(calendar: BusinessHours, start: datetime, end: datetime) -> float:
    """Seconds of ``[start, end)`` within the opening hours (0 when ``end`` is not after ``start``)."""
    return measure(calendar, start, end).total_seconds()
