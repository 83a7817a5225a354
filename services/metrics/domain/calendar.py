"""Business time: the seconds between two instants that fall within the desk's opening hours.

The calendar is the desk's (``MEETDESK_BUSINESS_HOURS``, the one complaints' SLA clocks read): opening
hours per weekday in the venue's time zone, closed on the weekdays not listed and on the holidays.
Response times are measured in it as well as in calendar time when it is configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MIDNIGHT = time(0, 0)  # as a closing time: the end of the day ("24:00")
MAX_DAYS = 366  # a response measured over more days than this counts only its last year's opening hours


@dataclass(frozen=True)
class BusinessHours:
    """Opening hours per weekday (0 = Monday: ``(opens, closes)``, a closing of 00:00 is midnight at the
    end of the day) and the holidays (closed all day), in the venue's time zone ``tz``."""

    tz: ZoneInfo
    hours: tuple[tuple[int, time, time], ...]
    holidays: frozenset[date] = frozenset()

    @classmethod
    def parse(cls, spec: Mapping[str, object], tz: ZoneInfo) -> BusinessHours:
        """From ``{"hours": {"mon": ["09:00", "18:00"], ...}, "holidays": ["2026-12-25"]}`` (ValueError)."""
        unknown = set(spec) - {"hours", "holidays"}
        if unknown:
            raise ValueError(f"unknown business-hours keys: {', '.join(sorted(unknown))}")
        raw = spec.get("hours")
        if not isinstance(raw, Mapping) or not raw:
            raise ValueError('business hours need "hours": {"mon": ["09:00", "18:00"], ...} (one open day at least)')
        hours = []
        for name, pair in raw.items():
            if name not in WEEKDAYS:
                raise ValueError(f"unknown weekday {name!r}; one of {', '.join(WEEKDAYS)}")
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise ValueError(f'{name}: hours are [opens, closes], e.g. ["09:00", "18:00"]')
            opens, closes = (_clock(str(v)) for v in pair)
            if closes != MIDNIGHT and closes <= opens:
                raise ValueError(f"{name}: closes ({closes}) must be after it opens ({opens})")
            hours.append((WEEKDAYS.index(name), opens, closes))
        holidays = spec.get("holidays") or []
        if not isinstance(holidays, list):
            raise ValueError("holidays are a list of dates, YYYY-MM-DD")
        return cls(tz, tuple(sorted(hours)), frozenset(date.fromisoformat(str(d)) for d in holidays))

    def opening(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's opening interval (aware instants), None when closed."""
        if day in self.holidays:
            return None
        for weekday, opens, closes in self.hours:
            if weekday == day.weekday():
                end_day = day + timedelta(days=1) if closes == MIDNIGHT else day
                return datetime.combine(day, opens, self.tz), datetime.combine(end_day, closes, self.tz)
        return None


def _clock(text: str) -> time:
    if text == "24:00":
        return MIDNIGHT
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a time of day (HH:MM)") from None


def business_seconds(calendar: BusinessHours, start: datetime, end: datetime) -> float:
    """Seconds of ``[start, end)`` within the opening hours (0 when ``end`` is not after ``start``)."""
    if end <= start:
        return 0.0
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    first = max(start.astimezone(calendar.tz).date(), end.astimezone(calendar.tz).date() - timedelta(days=MAX_DAYS))
    day, last = first - timedelta(days=1), end.astimezone(calendar.tz).date()  # the day before may reach past 0:00
    total = 0.0
    while day <= last:
        interval = calendar.opening(day)
        if interval is not None:
            overlap = (min(interval[1], end) - max(interval[0], start)).total_seconds()
            total += max(0.0, overlap)
        day += timedelta(days=1)
    return total
