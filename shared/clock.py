"""The time a service reads: one injectable clock per process.

Handlers and the domain never call ``datetime.now()``; they are given ``now``, which the service
takes from its :class:`Clock` when a message or a due item arrives. In production that is the system
clock. Integration tests move a running process's time forward with :class:`OffsetClock`: the
process reads a number of seconds from a file (``MEETDESK_CLOCK_OFFSET_FILE``) and adds it to the
system time, so a test can write ``86400`` and see tomorrow's reminders fire now.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved (unit tests)."""

    def __init__(self, at: datetime):
        if at.tzinfo is None:
            raise ValueError("the clock needs a timezone-aware time")
        self.at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, by: timedelta) -> None:
        self.at += by


class OffsetClock:
    """System time plus an offset in seconds read from ``path`` (re-read when the file changes;
    a missing or empty file means no offset). For tests only."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._mtime: float | None = None
        self._offset = 0.0
        self._checked = 0.0

    def now(self) -> datetime:
        mono = time.monotonic()
        if mono - self._checked > 0.05:  # at most 20 stat() calls a second
            self._checked = mono
            self._reload()
        return datetime.now(UTC) + timedelta(seconds=self._offset)

    def _reload(self) -> None:
        try:
            mtime = os.stat(self.path).st_mtime
        except FileNotFoundError:
            return
        if mtime == self._mtime:
            return
        self._mtime = mtime
        try:
            text = self.path.read_text().strip()
            offset = float(text) if text else 0.0
        except (OSError, ValueError):
            return
        self._offset = offset


def clock_from(offset_file: str | None) -> Clock:
    return OffsetClock(offset_file) if offset_file else SystemClock()
