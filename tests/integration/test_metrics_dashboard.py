"""The dashboard page in a real headless browser (Debian's ``chromium``): it renders its charts, every
figure it shows equals /kpis, and a screenshot is saved.

Metrics' HTTP app is served by uvicorn in this process on a free port, over a real PostgreSQL holding
four weeks of generated traffic, with the service's clock fixed at ``NOW``; chromium loads
``/dashboard#token=…``, runs its script (which reads /kpis with the token) and dumps the DOM. The
screenshot goes to ``$MEETDESK_TEST_ARTIFACTS`` (default: the system's temp dir, ``meetdesk-artifacts``).
Needs ``chromium`` on the PATH (``apt-get install -y chromium``): without it the test fails, it does
not skip.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from services.metrics import domain, handlers
from services.metrics.store import MetricsStore
from shared.clock import FixedClock
from shared.db import make_engine, make_sessionmaker
from shared.uow import Transaction

from ..servers import Servers
from ..system import fresh_database
from ..unit.metrics_traffic import HK, Traffic

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 26, 4, 0, tzinfo=UTC)  # 12:00 in Hong Kong, a Thursday
POLICY = domain.Policy(tz=HK)
TOKEN = "dashboard-test-token"
ARTIFACTS = Path(os.environ.get("MEETDESK_TEST_ARTIFACTS") or Path(tempfile.gettempdir()) / "meetdesk-artifacts")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    assert found, "the dashboard test needs a headless browser: apt-get install -y chromium"
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
async def month(servers: Servers) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(await fresh_database(servers, "meetdesk_test_metrics_dashboard", "metrics"), pool_size=5)
    envs = Traffic(seed=77, start=date(2026, 1, 5), days=81, now=NOW, per_day=10).events
    records = [r for e in envs if isinstance(r := domain.record(e), domain.Record)]
    for i in range(0, len(records), 1000):
        async with engine.connect() as conn, conn.begin():
            uow = Transaction(conn, MetricsStore(conn), "metrics", NOW)
            await handlers.absorb_batch(uow, [handlers.Absorbed(r) for r in records[i : i + 1000]], NOW, POLICY)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def site(month: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """Metrics' HTTP app on a real port (uvicorn, this event loop)."""
    from services.metrics import main

    monkeypatch.setattr(main.svc, "sessions", make_sessionmaker(month))
    monkeypatch.setattr(main.svc, "clock", FixedClock(NOW))
    monkeypatch.setattr(main.svc.settings, "api_token", type(main.svc.settings.api_token)(TOKEN))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(main.app.http, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def browse(url: str, *args: str) -> str:
    """Chromium, headless, on ``url``: its output (``--dump-dom``: the DOM once the page's script ran)."""
    proc = await asyncio.create_subprocess_exec(
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--hide-scrollbars", "--window-size=1280,2300", "--virtual-time-budget=15000", *args, url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode()


class Figures(HTMLParser):
    """The figures the page shows (elements of class ``kpi``), the body's ``data-ready``, SVG bars."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: list[dict[str, Any]] = []
        self.ready: str | None = None
        self.bars = 0
        self._open: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "body":
            self.ready = a.get("data-ready")
        if tag == "rect":
            self.bars += 1
        if "kpi" in (a.get("class") or "").split():
            self._open = {"query": a["data-query"], "key": a["data-key"], "path": a["data-path"],
                          "value": json.loads(a["data-value"] or "null"), "text": ""}  # fmt: skip
            self.figures.append(self._open)

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag: str) -> None:
        self._open = None


def pick(figures: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        figures = figures[part]
    return figures


async def test_the_dashboard_renders_in_a_browser_and_every_figure_it_shows_equals_kpis(site: str):
    dom = await browse(f"{site}/dashboard#token={TOKEN}", "--dump-dom")
    page = Figures()
    page.feed(dom)
    assert page.ready == "true", dom[-3000:]
    assert len(page.figures) >= 40 and page.bars >= 30, (len(page.figures), page.bars)
    queries = {f["query"] for f in page.figures}
    assert {"period=today&group_by=day", "period=month&group_by=agent", "period=month&group_by=category",
            "period=month&group_by=cause", "period=month&group_by=service_step"} <= queries  # fmt: skip
    causes = {f["key"] for f in page.figures if f["query"] == "period=month&group_by=cause"}
    assert len(causes) > 2 and "null" in causes, causes  # found causes, and the complaints without one yet
    assert any("group_by=week" in q for q in queries)
    async with httpx.AsyncClient(base_url=site, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        answers = {q: (await http.get(f"/kpis?{q}")).json() for q in queries}
    compared = 0
    for f in page.figures:
        report = answers[f["query"]]
        if f["key"] == "":
            want = pick(report["totals"], f["path"])
        else:
            [group] = [g for g in report["groups"] if g["key"] == json.loads(f["key"])]
            want = pick(group, f["path"])
        assert f["value"] == want, f
        assert f["text"].strip() and (want is None) == (f["text"].strip() == "–"), f
        compared += 1
    assert compared == len(page.figures)
    # the weeks shown are every week of /kpis' answer, in its order
    weekly = next(q for q in queries if "group_by=week" in q)
    shown = list(dict.fromkeys(f["key"] for f in page.figures if f["query"] == weekly))
    assert [json.loads(k) for k in shown] == [g["key"] for g in answers[weekly]["groups"]]
    assert len(shown) >= 10


async def test_the_dashboard_without_a_token_shows_no_figure_and_says_why(site: str):
    dom = await browse(f"{site}/dashboard", "--dump-dom")
    page = Figures()
    page.feed(dom)
    assert page.ready == "error" and page.figures == []
    assert "dashboard#token=" in dom


def fresh_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    return path


async def test_the_dashboard_screenshot_is_saved(site: str):
    shot = await asyncio.to_thread(fresh_file, ARTIFACTS / "metrics-dashboard.png")
    await browse(f"{site}/dashboard#token={TOKEN}", f"--screenshot={shot}")
    size = (await asyncio.to_thread(shot.stat)).st_size
    assert size > 20_000, size  # a rendered page with charts, not a blank one
    print(f"dashboard screenshot: {shot}")
