"""Run last among the integration tests (hence the name): every line the four services logged during
the run — every channel's payloads, bookings, complaints, refusals, faults — holds no email address,
no phone number and no API token in clear."""

from __future__ import annotations

import re

import pytest

from ..conftest import System

pytestmark = pytest.mark.integration

# independent of the masking's own patterns (shared/logs.py), so a gap in one is caught by the other
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PHONE = re.compile(r"\+\d{8,15}\b|\+852[ -]?\d{4}[ -]?\d{4}|\b[2-9]\d{3}[ -]\d{4}\b")
ALLOWED_EMAILS = re.compile(r"@(?:example\.invalid)$")  # none so far: every address is a customer's
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # ids, not numbers


async def test_no_log_line_of_the_run_holds_an_email_a_phone_number_or_the_token(system: System) -> None:
    log_dir = system.services["intake"].log_dir
    files = sorted(log_dir.glob("*.log"))
    assert files, "the services logged nothing?"
    found: list[str] = []
    lines = 0
    for path in files:
        for line in path.read_text(errors="replace").splitlines():
            lines += 1
            for m in EMAIL.finditer(line):
                if not ALLOWED_EMAILS.search(m.group()):
                    found.append(f"{path.name}: email {m.group()!r}")
            found += [f"{path.name}: phone {m.group()!r}" for m in PHONE.finditer(UUID.sub("", line))]
            if system.token in line:
                found.append(f"{path.name}: the API token")
    assert lines > 0
    assert not found, f"{len(found)} in {lines} lines, e.g. {found[:10]}"
