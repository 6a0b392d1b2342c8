"""Headless Chromium from the distribution's packages, driven over the DevTools protocol
(a WebSocket of JSON commands): open a page, run script in it, wait for what it shows,
take screenshots. Started with a fresh profile and nothing talking to the network but the
page itself."""

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
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--window-size=1920,1080",
    "--remote-debugging-port=0",
)


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Page:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.replies: dict[int, asyncio.Future[Any]] = {}
        self.console: list[str] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            found = self.replies.pop(message.get("id", -1), None)
            if found is not None and not found.done():
                found.set_result(message)
            elif message.get("method") == "Runtime.consoleAPICalled":
                args = message["params"].get("args", [])
                self.console.append(" ".join(str(a.get("value", "")) for a in args))

    async def send(self, method: str, **params: Any) -> Any:
        ident = next(self.ids)
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.replies[ident] = reply
        await self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        message = await asyncio.wait_for(reply, 30)
        if "error" in message:
            raise RuntimeError(f"{method}: {message['error']}")
        return message.get("result", {})

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, within: float = 20) -> Any:
        """Poll `expression` until it is truthy; its value."""
        deadline = time.monotonic() + within
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"the page never showed: {expression}")
            await asyncio.sleep(0.2)

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", url=url)
        await self.wait_for("document.readyState === 'complete'")

    async def screenshot(self, path: Path) -> None:
        shot = await self.send("Page.captureScreenshot", format="png")
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))


@asynccontextmanager
async def chromium(binary: str) -> AsyncIterator[Page]:
    """A fresh headless Chromium with one 1920x1080 page."""
    # Chromium's helper processes may still be writing to the profile as it goes: they are
    # stopped with it (one process group), and what they leave is not an error of the test.
    with tempfile.TemporaryDirectory(
        prefix="screen-chromium-", ignore_cleanup_errors=True
    ) as profile:
        process = await asyncio.create_subprocess_exec(
            binary,
            *FLAGS,
            f"--user-data-dir={profile}",
            "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            port = await _devtools_port(Path(profile) / "DevToolsActivePort", process)
            targets = await asyncio.to_thread(_json, f"http://127.0.0.1:{port}/json/list")
            target = next(t for t in targets if t["type"] == "page")
            async with connect(target["webSocketDebuggerUrl"], max_size=2**26) as ws:
                page = Page(ws)
                await page.send("Page.enable")
                await page.send("Runtime.enable")
                await page.send(
                    "Emulation.setDeviceMetricsOverride",
                    width=1920,
                    height=1080,
                    deviceScaleFactor=1,
                    mobile=False,
                )
                try:
                    yield page
                finally:
                    page.reader.cancel()
        finally:
            _signal_group(process, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
            _signal_group(process, signal.SIGKILL)  # helpers that outlived the browser


def _signal_group(process: asyncio.subprocess.Process, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


async def _devtools_port(port_file: Path, process: asyncio.subprocess.Process) -> str:
    """The port Chromium writes once its DevTools server listens."""
    deadline = time.monotonic() + 30
    while True:
        text = await asyncio.to_thread(_text, port_file)
        if text:
            return text.split()[0]
        if process.returncode is not None or time.monotonic() > deadline:
            raise RuntimeError("Chromium did not start")
        await asyncio.sleep(0.1)


def _text(path: Path) -> str:
    return path.read_text().strip() if path.exists() else ""


def _json(url: str) -> Any:
    with urllib.request.urlopen(url) as answer:  # http://127.0.0.1 only
        return json.loads(answer.read())
