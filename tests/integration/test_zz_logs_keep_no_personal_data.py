"""Run last among the integration tests (hence the name): every line the four services logged during
the run — every channel's payloads, bookings, complaints, refusals, faults — holds no email address,
no phone number, no customer name the tests sent and no API token in clear (tests/logscan.py; the
fault suite's run is scanned the same way, tools/chaos.py)."""

from __future__ import annotations

import pytest

from ..conftest import System
from ..logscan import names_pattern, scan_dir
from ..system import AGENT_TOKEN, SUPERVISOR_TOKEN

pytestmark = pytest.mark.integration

# the customers' full names the suite's payloads carry (tests/integration/builders.py and the tests);
# one-syllable surnames ("Ho", "Chan") would match ordinary words and are left out
CUSTOMER_NAMES = ("陳大文", "王芳", "Alice Wong")


async def test_no_log_line_of_the_run_holds_an_email_a_phone_number_a_customer_name_or_a_token(
    system: System,
) -> None:
    found = scan_dir(
        system.services["intake"].log_dir,
        secrets=[system.token, AGENT_TOKEN, SUPERVISOR_TOKEN],
        names=names_pattern(CUSTOMER_NAMES),
    )
    assert found.files and found.lines > 0, "the services logged nothing?"
    assert found.clean, found.summary()
