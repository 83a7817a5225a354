"""A deployed service without its secret refuses to start, and says why."""

from __future__ import annotations

import asyncio
import json

import pytest

from ..servers import Servers
from ..system import ServiceProcess

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("token", ["", "change-me"], ids=["unset", "placeholder"])
async def test_a_service_without_a_real_api_token_exits_with_a_configuration_error(
    servers: Servers, tmp_path, token: str
) -> None:
    booking = ServiceProcess("booking", servers, tmp_path, extra_env={"MEETDESK_API_TOKEN": token})
    booking.start()
    assert booking.proc is not None
    code = await asyncio.to_thread(booking.proc.wait, 60)
    assert code == 78, "EX_CONFIG: a restart will not help"
    lines = [json.loads(x) for x in (tmp_path / "booking.1.log").read_bytes().splitlines() if x.startswith(b"{")]
    refusal = [x for x in lines if x.get("event") == "refusing to start"]
    assert refusal and "MEETDESK_API_TOKEN" in refusal[0]["reason"]
