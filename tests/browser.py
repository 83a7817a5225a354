"""A small driver for Debian's headless ``chromium`` over the DevTools protocol, for the browser tests.

    async with Browser.launch() as browser:
        page = await browser.new_page()
        await page.goto("http://127.0.0.1:8005/")
        await page.fill("[data-test=signin-token]", token)
        await page.click("[data-test=signin-submit]")
        await page.wait_for("[data-test=complaint-row]", text="...")
        await page.screenshot("signed-in")          # $MEETDESK_TEST_ARTIFACTS/signed-in.png

Chromium is started with ``--remote-debugging-port=0`` and its own temporary profile; the port it chose
is read from ``DevToolsActivePort``, and each page is driven over its own WebSocket (the ``websockets``
package, a dev dependency), so the tests need no browser download.
A JavaScript error on a page is collected in ``page.errors`` (tests assert there are none).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

ARTIFACTS = Path(os.environ.get("MEETDESK_TEST_ARTIFACTS") or Path(tempfile.gettempdir()) / "meetdesk-artifacts")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    assert found, "the browser tests need a headless browser: apt-get install -y chromium"
    return found


class Page:
    """One tab, driven over its DevTools WebSocket."""

    def __init__(self, ws: ClientConnection, target_id: str, browser: Browser):
        self.ws, self.target_id, self.browser = ws, target_id, browser
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._events: list[tuple[str, dict[str, Any]]] = []
        self._changed = asyncio.Event()
        self.errors: list[str] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                msg = json.loads(await self.ws.recv())
                if "id" in msg:
                    fut = self._pending.pop(msg["id"], None)
                    if fut is not None and not fut.done():
                        if "error" in msg:
                            fut.set_exception(RuntimeError(f"DevTools: {msg['error']}"))
                        else:
                            fut.set_result(msg.get("result", {}))
                    continue
                method, params = msg.get("method", ""), msg.get("params", {})
                if method == "Runtime.exceptionThrown":
                    details = params.get("exceptionDetails", {})
                    self.errors.append(
                        details.get("exception", {}).get("description") or details.get("text", "exception")
                    )
                elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                    self.errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
                self._events.append((method, params))
                self._changed.set()
        except (ConnectionError, ConnectionClosed, OSError) as exc:
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError(f"the page's connection ended: {exc}"))

    async def send(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        n = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[n] = fut
        await self.ws.send(json.dumps({"id": n, "method": method, "params": params}))
        return dict(await asyncio.wait_for(fut, timeout))

    async def _event(self, method: str, since: int, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for name, params in self._events[since:]:
                if name == method:
                    return params
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {method} within {timeout}s")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.5))

    async def goto(self, url: str, timeout: float = 30.0) -> None:
        since = len(self._events)
        await self.send("Page.navigate", url=url)
        await self._event("Page.loadEventFired", since, timeout)

    async def evaluate(self, expression: str, timeout: float = 30.0) -> Any:
        """The value of a JavaScript expression (a promise is awaited); a thrown error raises."""
        result = await self.send(
            "Runtime.evaluate", timeout, expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise RuntimeError(details.get("exception", {}).get("description") or details.get("text"))
        return result.get("result", {}).get("value")

    async def wait_until(self, expression: str, timeout: float = 15.0, what: str | None = None) -> Any:
        """Poll a JavaScript expression until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                shot = await self.screenshot(f"timeout-{int(time.time() * 1000)}")
                raise TimeoutError(f"{what or expression} not true within {timeout}s (the page then: {shot})")
            await asyncio.sleep(0.1)

    async def wait_for(self, selector: str, *, text: str | None = None, timeout: float = 15.0) -> None:
        """Until an element matching ``selector`` is shown (and, given ``text``, one whose text contains it)."""
        check = (
            f"[...document.querySelectorAll({json.dumps(selector)})].some(el => el.offsetParent !== null"
            + (f" && el.textContent.includes({json.dumps(text)})" if text is not None else "")
            + ")"
        )
        await self.wait_until(check, timeout, what=f"{selector}" + (f" with {text!r}" if text else ""))

    async def text(self, selector: str) -> str:
        return str(await self.evaluate(f"(document.querySelector({json.dumps(selector)}) || {{}}).textContent || ''"))

    async def texts(self, selector: str) -> list[str]:
        return list(
            await self.evaluate(f"[...document.querySelectorAll({json.dumps(selector)})].map(el => el.textContent)")
        )

    async def click(self, selector: str) -> None:
        found = await self.evaluate(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)}); if (!el) return false;"
            " el.scrollIntoView({block: 'center'}); el.click(); return true; })()"
        )
        assert found, f"nothing to click at {selector}"

    async def fill(self, selector: str, value: str) -> None:
        """Type ``value`` into the input, textarea or select at ``selector`` (input and change fired)."""
        found = await self.evaluate(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)}); if (!el) return false;"
            f" el.focus(); el.value = {json.dumps(value)};"
            " el.dispatchEvent(new Event('input', {bubbles: true}));"
            " el.dispatchEvent(new Event('change', {bubbles: true})); return true; })()"
        )
        assert found, f"nothing to fill at {selector}"

    async def screenshot(self, name: str) -> Path:
        """A PNG of the page as it is now, saved as ``$MEETDESK_TEST_ARTIFACTS/<name>.png``."""
        shot = await self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        return await asyncio.to_thread(_save, name, base64.b64decode(shot["data"]))

    async def close(self) -> None:
        self._reader.cancel()
        await self.ws.close()


def _save(name: str, png: bytes) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    path.write_bytes(png)
    return path


def _devtools_port(profile: str) -> int | None:
    """The port chromium chose, once it has written it into its profile."""
    active = Path(profile) / "DevToolsActivePort"
    text = active.read_text().strip() if active.exists() else ""
    return int(text.split()[0]) if text else None


class Browser:
    def __init__(self, proc: asyncio.subprocess.Process, port: int, profile: str, lang: str):
        self.proc, self.port, self.profile, self.lang = proc, port, profile, lang
        self.pages: list[Page] = []

    @classmethod
    @contextlib.asynccontextmanager
    async def launch(
        cls, *, lang: str = "en-US", width: int = 1366, height: int = 900, timeout: float = 30.0
    ) -> AsyncIterator[Browser]:
        profile = tempfile.mkdtemp(prefix="meetdesk-chromium-")
        proc = await asyncio.create_subprocess_exec(
            chromium(), "--headless", "--remote-debugging-port=0", f"--user-data-dir={profile}",
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars", f"--lang={lang}",
            f"--window-size={width},{height}", "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        browser = None
        try:
            deadline = time.monotonic() + timeout
            while (port := _devtools_port(profile)) is None:
                if proc.returncode is not None:
                    raise RuntimeError(f"chromium exited with {proc.returncode}")
                if time.monotonic() > deadline:
                    raise TimeoutError("chromium did not open its DevTools port")
                await asyncio.sleep(0.05)
            browser = cls(proc, port, profile, lang)
            yield browser
        finally:
            if browser is not None:
                for page in browser.pages:
                    with contextlib.suppress(Exception):
                        await page.close()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
            await asyncio.to_thread(shutil.rmtree, profile, True)

    async def new_page(self) -> Page:
        """A new tab (Page, Runtime enabled), blank."""
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.put(f"http://127.0.0.1:{self.port}/json/new?about:blank")
            target = r.json()
        ws = await connect(target["webSocketDebuggerUrl"], max_size=2**26, ping_interval=None)
        page = Page(ws, target["id"], self)
        self.pages.append(page)
        await page.send("Page.enable")
        await page.send("Runtime.enable")
        # the browser's language as the page sees it (navigator.language, Accept-Language): --lang alone
        # does not reach navigator.language in headless mode
        agent = (await page.send("Browser.getVersion"))["userAgent"]
        await page.send("Emulation.setUserAgentOverride", userAgent=agent, acceptLanguage=self.lang)
        return page
