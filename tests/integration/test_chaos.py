"""The short fault suite (tools/chaos.py --short) as part of the tests: kill -9 of booking and of
intake with messages in flight, the booking database unreachable, every message delivered three
times, poison mixed with good messages, contended booking — each with nothing lost, nothing doubled,
no good message dead-lettered, and recovery within 30 s; and no line any of its processes logged holds a
customer's email, phone number or name, or the API token. (`make chaos` runs the full-size suite, with
real RabbitMQ and PostgreSQL restarts.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.chaos import SHORT, SHORT_SET, run_suite, scan_logs, table

from ..conftest import System

pytestmark = pytest.mark.integration


async def test_the_short_fault_suite_loses_nothing_and_doubles_nothing(system: System, tmp_path: Path) -> None:
    for svc in system.services.values():  # the suite runs its own four services on the same queues
        svc.stop()
    try:
        rows = await run_suite(system.servers, list(SHORT_SET), SHORT, tmp_path)
    finally:
        for svc in system.services.values():
            svc.start()
        for svc in system.services.values():
            await svc.wait_ready()
    assert [r.scenario for r in rows if not r.ok] == [], "\n" + table(rows)
    assert all(r.sent > 0 for r in rows), "\n" + table(rows)
    logs = scan_logs(tmp_path)  # every line of every process the suite started, kills and restarts included
    assert logs.files >= 4 and logs.lines > 0
    assert logs.clean, logs.summary()
