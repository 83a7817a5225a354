"""`make demo` (tools/demo.py) against the running system (issue 15): it tells the same story every
time it runs, and the outcomes it tells are the ones a user sees through the services' APIs.

The demo runs as a subprocess, as `make demo` runs it, pointed at the `system` fixture's services and
broker through its environment variables, twice in a row on the same databases.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..conftest import System
from ..system import AGENT_TOKEN, API_TOKEN, PORT_BASE
from .builders import HK

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_URL = f"http://127.0.0.1:{PORT_BASE + 5}/"


async def run_demo(system: System, *, open_browser: bool = False, **more_env: str) -> tuple[str, str]:
    """``python tools/demo.py`` (``--no-open`` unless ``open_browser``) against the system: its stdout and stderr."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MEETDESK_") and k not in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")
    }
    env.update(
        MEETDESK_AMQP_URL=system.servers.amqp_url,
        MEETDESK_INTAKE_URL=system.url("intake"),
        MEETDESK_BOOKING_URL=system.url("booking"),
        MEETDESK_COMPLAINTS_URL=system.url("complaints"),
        MEETDESK_CONSOLE_URL=CONSOLE_URL,
        MEETDESK_API_TOKEN=API_TOKEN,
        PYTHONUNBUFFERED="1",
    )
    env.update(more_env)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "tools/demo.py",
        *(() if open_browser else ("--no-open",)),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    stdout, stderr = out.decode(), err.decode()
    assert proc.returncode == 0, f"the demo failed ({proc.returncode}):\n{stdout}\n{stderr}"
    return stdout, stderr


def story(stdout: str) -> str:
    """What must be the same on every run: the printed story, its day written as <day> (a second run
    a moment past midnight in venue time tells the same story a day later)."""
    text = re.sub(r"\d{4}-\d{2}-\d{2}", "<day>", stdout)
    return re.sub(r"on [A-Z][a-z]+day \d{2} [A-Z][a-z]+ \d{4}", "on <day>", text)


async def get(system: System, service: str, path: str, **params: Any) -> Any:
    async with httpx.AsyncClient(base_url=system.url(service), timeout=10) as client:
        r = await client.get(path, params=params, headers={"Authorization": f"Bearer {AGENT_TOKEN}"})
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_demo_tells_the_same_story_twice_and_the_desk_sees_what_it_tells(system: System) -> None:
    first, _ = await run_demo(system)
    second, reset = await run_demo(system)
    print(second)  # shown when the test fails

    assert story(first) == story(second), "the second run told another story"
    assert "3 booking(s) of an earlier run cancelled" in reset, reset
    assert f"the console does not answer at {CONSOLE_URL}" in reset, "(the system fixture runs no console)"

    # what it tells, step by step
    lines = [line.strip() for line in second.splitlines()]
    assert "→ confirmed: demo-harbour 10:00–12:00" in lines
    assert "→ confirmed: demo-peak 14:00–17:00" in lines
    assert "→ confirmed: demo-garden 09:00–10:00" in lines
    rejected = next(i for i, line in enumerate(lines) if line.startswith("→ rejected"))
    alternatives = lines[rejected + 2 : rejected + 7]
    assert alternatives and alternatives[0] == "demo-peak     11:00–12:00", "the other room free at that time first"
    assert any(a.startswith("demo-harbour") for a in alternatives), "and times in the room asked for"
    assert "→ inquiry: booking_request, zh-Hans; missing: time" in lines
    assert any(line.startswith("→ listed as incomplete") for line in lines)
    assert any(line.startswith("→ complaint registered: equipment_failure") for line in lines)
    assert any(line.startswith("→ its clock: formal reply within") and "overdue: no" in line for line in lines)
    assert "→ a call-back for 李小明 (known by the phone number from his web form)" in lines
    assert "→ inquiry: inquiry, en; the same customer as her web form (Alice Wong)" in lines
    assert "→ her customer file has conversations on: chat, webform" in lines
    assert any(line.startswith("→ feedback: 100/100 from 王芳") and "demo-garden" in line for line in lines)
    assert f"open {CONSOLE_URL}" in lines and "sign in with the API token: $MEETDESK_API_TOKEN" in lines

    # and what the desk sees: the second run's bookings, the first run's cancelled
    day = (datetime.now(HK) + timedelta(days=2)).date().isoformat()
    bookings = (await get(system, "booking", "/bookings", date=day, limit=200))["items"]
    demo = [b for b in bookings if b["room_id"].startswith("demo-")]
    assert sorted((b["room_id"], b["status"]) for b in demo) == sorted(
        [(r, s) for r in ("demo-garden", "demo-harbour", "demo-peak") for s in ("cancelled", "confirmed")]
    )
    # 张伟's WeChat requests (one per run) among the incomplete ones
    incomplete = (await get(system, "intake", "/inquiries", incomplete="true", limit=200))["items"]
    wechat = [i for i in incomplete if i["conversation_id"] == "wechat:demo-openid-zhangwei"]
    assert len(wechat) == 2 and all(i["missing"] == ["time"] for i in wechat)


async def test_the_demo_opens_the_console_in_a_browser_when_a_display_is_there(system: System, tmp_path: Path) -> None:
    opened = tmp_path / "opened"
    # a stand-in browser (webbrowser runs $BROWSER with the URL), a display, and a "console" that
    # answers /healthz: intake does
    console = system.url("intake") + "/"
    stdout, stderr = await run_demo(
        system,
        open_browser=True,
        DISPLAY=":0",
        BROWSER=f"sh -c 'echo \"$0\" > {opened}' %s",
        MEETDESK_CONSOLE_URL=console,
    )
    assert f"open {console}" in stdout and "does not answer" not in stderr, stderr
    assert opened.exists() and opened.read_text().strip() == console, stderr


async def test_the_demo_says_to_start_the_system_first_when_nothing_answers() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETDESK_")}
    env.update(MEETDESK_INTAKE_URL="http://127.0.0.1:9", MEETDESK_API_TOKEN="a-token-of-16-characters-or-more")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "tools/demo.py",
        "--no-open",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 1
    assert "intake does not answer at http://127.0.0.1:9" in err.decode() and "make run" in err.decode()
    assert out.decode() == "", "no story is told"
