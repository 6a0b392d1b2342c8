"""The big-screen page in a real browser (headless Chromium from the distribution's packages,
installed by `.ci/run` when missing): a DISPLAY token entered once and kept, the node's
figures and charts drawn, a petition submitted through the API appearing in the live feed,
and the page recovering by itself when the server restarts. Screenshots are written to
`SCREEN_SHOTS` (default: the test's temporary directory)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from models.identity import TokenRole
from schema.http import build_app
from tests.live.browser import chromium, chromium_binary
from tests.live.conftest import TEST_SETTINGS
from tests.live.support import LiveCity, gid, serving_on, submit
from tests.server import free_port


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    found = Path(os.environ.get("SCREEN_SHOTS", tmp_path))
    found.mkdir(parents=True, exist_ok=True)
    return found


async def test_the_big_screen_shows_figures_and_live_petitions_and_recovers(
    live_uri: str, city: LiveCity, shots: Path
) -> None:
    binary = chromium_binary()
    if binary is None:
        pytest.fail("headless Chromium is needed: apt-get install chromium (make test does)")
    _, secret = await city.api_token(TokenRole.DISPLAY, city.demo.renheyuan)
    port = free_port()
    building = gid("Building", city.demo.building.id)
    url = f"http://127.0.0.1:{port}/screen?node={city.demo.renheyuan.code}"
    async with chromium(binary) as page:
        with serving_on(build_app(live_uri, live=TEST_SETTINGS), port) as base:
            await page.goto(url)
            # asked for a token once: nothing shows without one
            await page.wait_for("document.getElementById('login').classList.contains('open')")
            await page.evaluate(
                f"document.getElementById('token').value = {secret!r};"
                "document.getElementById('loginform').requestSubmit()"
            )
            await page.wait_for("document.getElementById('state').textContent === '实时连接'")
            title = await page.evaluate("document.getElementById('title').textContent")
            assert city.demo.renheyuan.name in title
            tiles = await page.evaluate(
                "Object.fromEntries([...document.querySelectorAll('#tiles .tile')]"
                ".map(t => [t.dataset.key, t.querySelector('.value').textContent]))"
            )
            assert tiles["grids"] == "7"  # 仁和苑's seven grids: places are shown as they are
            assert "petitions" not in tiles  # a display reads petitions per period only
            assert await page.evaluate("document.querySelectorAll('#trend rect').length") >= 0
            assert await page.evaluate("document.querySelectorAll('#gauges svg').length") == 4
            async with httpx.AsyncClient(base_url=base) as http:
                await submit(http, city.token("resident"), building, title="三单元楼道灯不亮")
            item = await page.wait_for(
                "[...document.querySelectorAll('#feed li[data-id]')]"
                ".map(li => li.textContent).find(t => t.includes('新诉求'))"
            )
            assert "楼道堵塞" in item
            assert city.demo.renheyuan.name in item
            assert "三单元" not in item  # no free text on a display
            await page.screenshot(shots / "screen.png")
        # the server is gone: the page says so and keeps trying
        await page.wait_for("document.getElementById('state').textContent === '重新连接中…'")
        with serving_on(build_app(live_uri, live=TEST_SETTINGS), port) as base:
            await page.wait_for(
                "document.getElementById('state').textContent === '实时连接'", within=60
            )
            async with httpx.AsyncClient(base_url=base) as http:
                await submit(http, city.token("resident"), building, title="电梯停了")
            await page.wait_for(
                "[...document.querySelectorAll('#feed li[data-id]')]"
                ".filter(li => li.textContent.includes('新诉求')).length >= 2",
                within=30,
            )
            # the token was kept: a reload asks for nothing, shows the feed it showed, and
            # goes live again
            await page.goto(url)
            await page.wait_for("document.getElementById('state').textContent === '实时连接'")
            assert not await page.evaluate(
                "document.getElementById('login').classList.contains('open')"
            )
            shown = await page.evaluate("document.querySelectorAll('#feed li[data-id]').length")
            assert shown >= 2
            origins = await page.evaluate(
                "[...new Set(performance.getEntriesByType('resource')"
                ".map(e => new URL(e.name).origin))]"
            )
            assert set(origins) <= {f"http://127.0.0.1:{port}"}  # nothing from elsewhere
            await page.screenshot(shots / "screen-after-restart.png")
