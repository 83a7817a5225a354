"""Counted time: calendar time by default, or the desk's business-hours calendar
(``MEETDESK_BUSINESS_HOURS``: opening hours per weekday in the venue's time zone, holidays) — the one
calendar complaints' SLA clocks count in and metrics measures response times in.

Two operations, both pure: how much counted time lies between two instants (:func:`measure`), and
the instant at which a given amount of counted time has passed after a start (:func:`advance`). With
no calendar (``None``) they are plain subtraction and addition.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DAYS = 3 * 366  # how far counting may look ahead: a target longer than that is a misconfiguration
END_OF_DAY = time(0, 0)  # as a closing time: midnight at the end of the day ("24:00")


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours per weekday (0 = Monday: opens, closes — a closing of 00:00 is midnight at the end
    of the day), closed on the weekdays not listed and on ``holidays``, in the venue's time zone."""

    tz: ZoneInfo
    hours: Mapping[int, tuple[time, time]]
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.hours:
            raise ValueError("a business-hours calendar needs at least one open weekday")
        for day, (opens, closes) in self.hours.items():
            if day not in range(7):
                raise ValueError(f"unknown weekday {day!r}")
            if closes != END_OF_DAY and closes <= opens:
                raise ValueError(f"{WEEKDAYS[day]}: closes ({closes}) must be after it opens ({opens})")

    @classmethod
    def parse(cls, spec: Mapping[str, object], tz: ZoneInfo) -> BusinessCalendar:
        """From its JSON form: ``{"hours": {"mon": ["09:00", "18:00"], ...}, "holidays": ["2026-12-25"]}``
        (a closing of ``"24:00"`` is midnight)."""
        raw_hours = spec.get("hours") or {}
        if not isinstance(raw_hours, Mapping):
            raise ValueError("hours must map weekdays (mon … sun) to [opens, closes]")
        hours: dict[int, tuple[time, time]] = {}
        for name, pair in raw_hours.items():
            if name not in WEEKDAYS:
                raise ValueError(f"unknown weekday {name!r}; one of {', '.join(WEEKDAYS)}")
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise ValueError(f'{name}: hours are [opens, closes], e.g. ["09:00", "18:00"]')
            opens, closes = (_clock_time(str(v)) for v in pair)
            hours[WEEKDAYS.index(name)] = (opens, closes)
        holidays = frozenset(date.fromisoformat(str(d)) for d in spec.get("holidays") or ())  # type: ignore[attr-defined]
        unknown = set(spec) - {"hours", "holidays"}
        if unknown:
            raise ValueError(f"unknown calendar keys: {', '.join(sorted(unknown))}")
        return cls(tz, hours, holidays)

    def open_intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The opening intervals (UTC) from the venue day of ``start`` on, in order (at most MAX_DAYS days)."""
        day = start.astimezone(self.tz).date() - timedelta(days=1)  # an interval of the day before may reach in
        for _ in range(MAX_DAYS + 2):
            interval = self.opening(day)
            if interval is not None:
                yield interval
            day += timedelta(days=1)

    def opening(self, day: date) -> tuple[datetime, datetime] | None:
        """The venue day's opening interval (UTC), None when closed."""
        if day in self.holidays or day.weekday() not in self.hours:
            return None
        opens, closes = self.hours[day.weekday()]
        start = datetime.combine(day, opens, tzinfo=self.tz)
        end_day = day + timedelta(days=1) if closes == END_OF_DAY else day
        end = datetime.combine(end_day, closes, tzinfo=self.tz)
        return start.astimezone(UTC), end.astimezone(UTC)


def _clock_time(text: str) -> time:
    if text == "24:00":
        return END_OF_DAY
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a time of day (HH:MM)") from None


def measure(calendar: BusinessCalendar | None, start: datetime, end: datetime) -> timedelta:
    """Counted time in ``[start, end)`` (zero when ``end`` is not after ``start``)."""
    if end <= start:
        return timedelta(0)
    if calendar is None:
        return end - start
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = timedelta(0)
    for opens, closes in calendar.open_intervals(start):
        if opens >= end:
            break
        overlap = min(closes, end) - max(opens, start)
        if overlap > timedelta(0):
            total += overlap
    return total


def advance(calendar: BusinessCalendar | None, start: datetime, amount: timedelta) -> datetime:
    """The first instant at which ``amount`` of counted time has passed since ``start`` (``start``
    itself for nothing)."""
    if amount <= timedelta(0):
        return start
    if calendar is None:
        return start + amount
    start = start.astimezone(UTC)
    left = amount
    for opens, closes in calendar.open_intervals(start):
        begin = max(opens, start)
        if closes <= begin:
            continue
        room = closes - begin
        if room >= left:
            return begin + left
        left -= room
    raise ValueError(f"{amount} of business hours do not fit in {MAX_DAYS} days of this calendar")
